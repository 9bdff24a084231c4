"""The safe expression language of journey files: CEL (https://github.com/google/cel-spec) through cel-python.

Conditions come from journey files, i.e. from people who are not developers and from files that may be untrusted,
so they are compiled once at load time with limits (length, nesting, syntax-tree depth), a whitelist of functions
and of root variables (``event``, ``customer``), and evaluated without ever raising into the pipeline: a runtime
error or a non-boolean result counts as ``False`` and increments a counter.

Nothing here calls ``eval``/``exec``: cel-python's interpreter (``InterpretedRunner``) walks the parse tree, and
its ``CompiledRunner`` (which transpiles to Python and ``exec``\\ s it) is deliberately not used.

Speed: cel-python's interpreter costs ~0.2 ms per evaluation, far over the per-event budget.  The common shape of
journey conditions (field access, comparisons of same-typed scalars, ``in`` over a list, ``has()``, ``&&``/``||``/
``!``) is therefore compiled, from the same cel-python parse tree, into a chain of small Python closures that read
the plain Python activation directly (~1 µs, no conversion to CEL types): :mod:`.conditions_fast`.  Whenever that
fast path meets anything whose CEL semantics it does not reproduce exactly (mixed int/double, ``null``, lists
compared with ``==``, arithmetic, function calls, macros...), it hands the whole evaluation to cel-python, so results
are cel-python's by construction; ``tests/stages/test_expr.py`` checks the two agree on randomly generated expressions.
cel-python itself is evaluated with the CEL spec's rules where it departs from them (heterogeneous equality,
``has()`` of a missing map, list indexes, ``string()``, ``size(null)``, IEEE double division):
:mod:`.conditions_spec`.
"""
from __future__ import annotations

import re

import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import celpy
from celpy import celtypes
from lark import Tree

from journeyflow.config.errors import UserError
from journeyflow.stages.conditions_fast import _ERR, _Fallback, compile_fast
from journeyflow.stages.conditions_spec import SPEC_FUNCTIONS, run_program

__all__ = [
    "COUNTERS",
    "Condition",
    "JourneyError",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "ROOT_VARIABLES",
    "compile_condition",
    "condition_name",
    "failed_conditions",
    "take_counts",
    "to_cel",
]

#: Longest accepted condition text (characters).
MAX_LENGTH = 1000
#: Deepest accepted bracket nesting: parentheses, list/map literals, calls, indexes.
MAX_NESTING = 12
#: Deepest accepted parse tree (bounds long operator chains such as ``!!!!…`` or ``a && a && …``).
MAX_DEPTH = 200
#: Variables a condition may use.
ROOT_VARIABLES = frozenset({"event", "customer"})
#: CEL's type names, values to compare ``type(x)`` with (``type(event.properties.plan) == string``; cel-spec langdef
#: "Type Values"): names a condition may use besides the variables.
TYPE_NAMES = frozenset({"int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type", "type"})

#: Functions and macros a condition may call (standard CEL; ``matches`` uses RE2, linear time).
ALLOWED_FUNCTIONS = frozenset({
    "has", "size", "contains", "startsWith", "endsWith", "matches",
    "exists", "all", "exists_one", "map", "filter",
    "int", "uint", "double", "string", "bool", "dyn", "type", "duration", "timestamp",
    "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear", "getMonth",
    "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
_MACROS = frozenset({"exists", "all", "exists_one", "map", "filter"})
#: Functions of other languages and CEL extensions (cel-go's strings extension) users reach for, and the standard
#: CEL way to say it (cel-spec langdef "Standard Definitions": no case or trim functions).
_INSTEAD = {**dict.fromkeys(("lowerAscii", "upperAscii", "toLowerCase", "toUpperCase", "lower", "upper", "toLower",
                             "toUpper", "casefold", "equalsIgnoreCase"),
                            "CEL's standard library has no case conversion: compare without case with "
                            "matches('(?i)^pro$')"),
            **dict.fromkeys(("len", "length", "count"), "the length of a string, list or map is size(x)"),
            **dict.fromkeys(("trim", "strip", "replace", "split", "substring", "indexOf", "join", "format"),
                            "CEL's standard library has no such string function: test the text with "
                            "contains(), startsWith(), endsWith() or matches('regex')"),
            "now": "conditions have no clock: compare with event.ts (epoch ms, the event's time)"}
_BRACKETS = frozenset({"paren_expr", "list_lit", "map_lit", "ident_arg", "member_dot_arg", "member_index"})

#: Process-wide counters (the Beam stage can report deltas as Metrics counters): ``errors`` (runtime CEL error →
#: False), ``non_bool`` (result not a bool → False), ``fallbacks`` (evaluated by cel-python's interpreter instead
#: of the fast path: ~0.2-0.3 ms each).  Each Condition also keeps its own ``errors``/``non_bool``/``fallbacks``.
COUNTERS: Counter = Counter()
_LOCAL = threading.local()  # this thread's counts since the last take_counts() (the Beam stage's counters)


def _count(key: str) -> None:
    COUNTERS[key] += 1
    c = getattr(_LOCAL, "counts", None)
    if c is None:
        c = _LOCAL.counts = Counter()
    c[key] += 1


#: Process-wide failed evaluations per condition: ``(name, "errors" | "non_bool") -> n`` (``Condition.name``: the
#: journey, step and field, given by the journey loader; else ``where``).  ``journeyflow replay`` names the
#: conditions behind its "condition errors" line from it (the local runner evaluates in this process).
FAILED: Counter = Counter()


def failed_conditions() -> Counter:
    """A copy of :data:`FAILED` (take one before and one after a run: their difference is the run's)."""
    return Counter(FAILED)


def take_counts() -> Counter:
    """This thread's ``errors``/``non_bool``/``fallbacks`` counts since the previous call (then reset), and its
    failed evaluations per condition, keyed ``(name, "errors" | "non_bool")`` as in :data:`FAILED`: the
    per-customer stage reports them as the Beam counters ``condition_errors``/``condition_non_bool`` and one counter
    per failed condition (each thread has its own compiled conditions, so a DoFn sees exactly the evaluations it
    made)."""
    c = getattr(_LOCAL, "counts", None)
    _LOCAL.counts = Counter()
    return c or Counter()


class JourneyError(UserError):
    """An invalid journey file or condition.  ``errors`` holds one ``"<file>:<line>: <path>: <what>"`` per problem."""

    offset: int | None = None  # a type error's position in the condition text, when known

    def __init__(self, errors: str | Iterable[str]):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


# ------------------------------------------------------------------------------------------------ conversion
def _to_none(_v: Any) -> None:
    return None


_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _int_to_cel(value: int) -> Any:
    """A JSON integer: a CEL ``int``, or beyond 64 bits (an undeclared property, a sum past 2**63) the JSON number
    it is, a ``double`` (cel-spec langdef "JSON Data Conversion": Number -> double), so one such value in the
    activation does not make every condition reading other fields fail (cel-python's IntType refuses it)."""
    if _INT64[0] <= value <= _INT64[1]:
        return celtypes.IntType(value)
    try:
        return celtypes.DoubleType(float(value))
    except OverflowError:  # (thousands of digits: the parsers read such a number as infinite too)
        return celtypes.DoubleType(float("inf") if value > 0 else float("-inf"))


_SCALARS: dict[type, Callable[[Any], Any]] = {
    bool: celtypes.BoolType,
    int: _int_to_cel,
    float: celtypes.DoubleType,
    str: celtypes.StringType,
    type(None): _to_none,
}


def to_cel(value: Any) -> Any:
    """Plain Python (dict/Mapping, list/tuple, str, int, float, bool, None) → cel-python values.

    A type-dispatch table instead of ``celpy.json_to_cel``'s ``isinstance`` chain; other types raise TypeError.
    """
    conv = _SCALARS.get(type(value))
    if conv is not None:
        return conv(value)
    if isinstance(value, Mapping):
        return celtypes.MapType({to_cel(k): to_cel(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return celtypes.ListType([to_cel(v) for v in value])
    raise TypeError(f"cannot use a {type(value).__name__} in a condition")


# ------------------------------------------------------------------------------------------------ compiling
_ENV: celpy.Environment | None = None
_ENV_LOCK = threading.Lock()


def _env() -> celpy.Environment:
    # One environment per process (cel-python's parser is a singleton; note that creating an Environment raises
    # sys.setrecursionlimit to 2500, which cel-python needs for its own recursion).
    global _ENV
    if _ENV is None:
        with _ENV_LOCK:
            if _ENV is None:
                _ENV = celpy.Environment()
    return _ENV


class Condition:
    """A compiled condition.  ``evaluate(activation)`` → bool, never raises."""

    __slots__ = ("text", "where", "name", "_program", "_fast", "errors", "non_bool", "fallbacks", "reads_event")

    def __init__(self, text: str, where: str, program: Any, fast: Callable[[Mapping], Any] | None,
                 name: str | None = None, reads_event: bool = True):
        self.text = text
        self.reads_event = reads_event  # False: the parse tree names no ``event`` (the fast path never reads it)
        self.where = where
        self.name = name or where  # what a failed evaluation is reported under (FAILED)
        self._program = program
        self._fast = fast
        self.errors = 0
        self.non_bool = 0
        self.fallbacks = 0

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __reduce__(self):
        # Closures and parse trees do not pickle well; recompile on the worker instead (Beam pickles DoFns).
        return (compile_condition, (self.text, self.where, None, self.name))

    @property
    def is_fast(self) -> bool:
        """True when the fast path handles this condition's shape (it may still fall back at run time)."""
        return self._fast is not None

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """Evaluate against ``{"event": {...}, "customer": {...}}`` (plain Python values or Mappings)."""
        fast = self._fast
        if fast is not None:
            r = self._fast_answer(fast, activation)
            if r is not None:
                return r
        return self._slow(activation)

    def evaluate_in(self, ctx: Any) -> bool:
        """``evaluate(ctx.activation())``, the same result, where ``ctx`` has ``activation()`` (``{"event": ...,
        "customer": ...}``, built once) and ``customer_activation()`` (``{"customer": ...}``, the same ``customer``):
        the fast path of a condition that names no ``event`` gets the latter, so the event's dict is not built for
        it; cel-python (a fallback) always gets the whole activation, as before."""
        fast = self._fast
        if fast is not None:
            r = self._fast_answer(fast, ctx.activation() if self.reads_event else ctx.customer_activation())
            if r is not None:
                return r
        return self._slow(ctx.activation())

    def _fast_answer(self, fast: Callable[[Mapping], Any], activation: Mapping[str, Any]) -> bool | None:
        """The fast path's answer (a failed evaluation counted: False), or None when cel-python must decide."""
        try:
            r = fast(activation)
        except _Fallback:
            return None
        except Exception:  # a bug in the fast path must not break the pipeline: let cel-python decide
            return None
        if r is True:
            return True
        if r is False:
            return False
        return self._failed(r is _ERR)

    def _slow(self, activation: Mapping[str, Any]) -> bool:
        self.fallbacks += 1
        _count("fallbacks")
        try:
            ctx = {k: to_cel(v) for k, v in activation.items()}
            r = run_program(self._program, ctx)
        except Exception:  # CELEvalError, TypeError from conversion, RecursionError...: a failed condition
            return self._failed(True)
        if isinstance(r, celtypes.BoolType):
            return bool(r)
        return self._failed(isinstance(r, Exception))

    def _failed(self, error: bool) -> bool:
        """Count a failed evaluation (a CEL error, or else a non-boolean result); a failed condition is False."""
        if error:
            self.errors += 1
            _count("errors")
        else:
            self.non_bool += 1
            _count("non_bool")
        key = (self.name, "errors" if error else "non_bool")
        FAILED[key] += 1
        _LOCAL.counts[key] += 1  # (_count made it) per condition too: the Beam stage's per-condition counters
        return False

    def evaluate_slow(self, activation: Mapping[str, Any]) -> bool:
        """cel-python only (for tests comparing the two paths)."""
        return self._slow(activation)


def compile_condition(text: str, where: str, variables: Mapping[str, Any] | None = None,
                      name: str | None = None) -> Condition:
    """Compile a CEL condition once (at load time).  Raises JourneyError(``"<where>: <what is wrong>"``).
    ``name``: what its failed evaluations are counted under (:data:`FAILED`; None: ``where``).

    ``variables``: the declared type of each variable (``{"event": T, "customer": T}``, see
    :mod:`journeyflow.stages.declarations`); when given, the condition is type-checked against them
    (:func:`journeyflow.stages.typecheck.check_condition`: unknown fields, type mismatches, a non-bool result)."""
    if not isinstance(text, str):
        raise JourneyError(f"{where}: a condition must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise JourneyError(f"{where}: condition is {len(text)} characters long (the limit is {MAX_LENGTH})")
    if not text.strip():
        raise JourneyError(f"{where}: condition is empty")
    env = _env()
    try:
        ast = env.compile(text)
    except celpy.CELParseError as e:
        raise JourneyError(f"{where}: invalid CEL: {_syntax_problem(text, e)}") from None
    except Exception as e:  # lark lexer errors and the like
        raise JourneyError(f"{where}: invalid CEL: {type(e).__name__}") from None
    _check_shape(ast, where)
    _check_names(ast, where)
    if variables is not None:
        from journeyflow.stages.conditions_constants import check_constants
        from journeyflow.stages.typecheck import CelTypeError, check_condition
        try:
            check_condition(ast, variables)
            check_constants(ast, text)  # (a part that reads no variable and is an error: fails at every evaluation)
        except CelTypeError as e:
            err = JourneyError(f"{where}: {e}")
            err.offset = e.offset  # where in the condition text (journeys.positions maps it to a file line)
            raise err from None
        except RecursionError:
            raise JourneyError(f"{where}: condition is too complex to type-check") from None
    reads_event = any(n.data == "ident" and str(n.children[0]) == "event" for n in ast.iter_subtrees())
    return Condition(text, where, env.program(ast, functions=SPEC_FUNCTIONS), compile_fast(ast), name, reads_event)


def condition_name(journey: Mapping, path: tuple, where: str) -> str:
    """What a journey's condition is reported under (:data:`FAILED`): ``journey 'winback', step 'check':
    branch.cases[0].when (journeys.yaml:131)`` -- its journey id, its step's id (when in a step), its field and
    ``where``'s file:line.  ``path``: the condition's path in the journey file (``("journeys", 2, "steps", 1, ...)``)."""
    from journeyflow.config.yaml import format_path
    rest, step = tuple(path[2:]), ""
    steps = journey.get("steps")
    if len(rest) >= 2 and rest[0] == "steps" and isinstance(rest[1], int) and isinstance(steps, list) \
            and rest[1] < len(steps) and isinstance(steps[rest[1]], Mapping):
        step, rest = f", step '{steps[rest[1]].get('id')}'", rest[2:]
    return f"journey '{journey.get('id')}'{step}: {format_path(rest)} ({where.split(': ', 1)[0]})"


def _syntax_problem(text: str, e: Exception) -> str:
    line, col = getattr(e, "line", None), getattr(e, "column", None)
    if not line or not col:
        return "syntax error"
    lines = text.splitlines() or [""]
    src = lines[line - 1] if 0 < line <= len(lines) else ""
    at = src[col - 1:col + 19]
    where = f"line {line} column {col}" if len(lines) > 1 else f"column {col}"
    tok = getattr(e.__context__, "token", None)  # lark's UnexpectedToken, chained by cel-python
    if (tok is not None and tok.type == "$END") or (not at.strip() and line >= len(lines)):
        return "unexpected end of condition"
    return f"syntax error at {where} near {at!r}{_hint(at, src[:col - 1].rstrip())}"


#: Other languages' spellings of CEL operators (SQL, Python, spreadsheets), what CEL writes instead.
_SPELLINGS = ((re.compile(r"=(?!=)"), "=="), (re.compile(r"(?i)and\b"), "&&"), (re.compile(r"(?i)or\b"), "||"))


def _hint(at: str, before: str) -> str:
    """A hint for a syntax error at ``at`` (after ``before``) that is another language's operator (``= 'trial'``,
    ``and x``, ``<>``, ``not x``): CEL compares with ``==`` / ``!=``, joins with ``&&`` / ``||``, negates with
    ``!``."""
    cel = next((c for pattern, c in _SPELLINGS if pattern.match(at)), None)
    if before.endswith("<") and at.startswith(">"):
        cel = "!="
    elif re.search(r"(?i)(^|[^\w.])not$", before):
        cel = "!"
    return f" (CEL writes {cel})" if cel else ""


def _check_shape(ast: Tree, where: str) -> None:
    stack: list[tuple[Any, int, int]] = [(ast, 1, 0)]
    depth = nesting = 0
    while stack:
        node, d, n = stack.pop()
        if node.data in _BRACKETS:
            n += 1
        if d > depth:
            depth = d
        if n > nesting:
            nesting = n
        for c in node.children:
            if isinstance(c, Tree):
                stack.append((c, d + 1, n))
    if nesting > MAX_NESTING:
        raise JourneyError(f"{where}: condition nests brackets/calls {nesting} deep (the limit is {MAX_NESTING})")
    if depth > MAX_DEPTH:
        raise JourneyError(f"{where}: condition is too complex (syntax tree depth {depth}, the limit is {MAX_DEPTH})")


def _check_names(ast: Tree, where: str) -> None:
    """Roots must be event/customer (or a macro's bound variable), functions whitelisted, no '_' fields."""
    problems: list[str] = []

    def walk(node: Tree, bound: frozenset[str]) -> None:
        data = node.data
        ch = node.children
        if data == "ident":
            name = str(ch[0])
            if name not in ROOT_VARIABLES and name not in bound and name not in TYPE_NAMES:
                problems.append(f"unknown variable '{name}' (use event.… or customer.…)")
            return
        if data in ("dot_ident", "dot_ident_arg"):
            problems.append("names starting with '.' are not supported")
            return
        if data == "member_object":
            problems.append("message construction (Type{…}) is not supported")
            return
        if data == "ident_arg":
            name = str(ch[0])
            if name not in ALLOWED_FUNCTIONS:
                problems.append(f"unknown function '{name}'" + (f" ({_INSTEAD[name]})" if name in _INSTEAD else ""))
                return
        if data in ("member_dot", "member_dot_arg"):
            name = str(ch[1])
            if name.startswith("_"):
                problems.append(f"field or method names starting with '_' are not allowed ('{name}')")
                return
            if data == "member_dot_arg":
                if name not in ALLOWED_FUNCTIONS:
                    problems.append(f"unknown method '{name}'" + (f" ({_INSTEAD[name]})" if name in _INSTEAD else ""))
                    return
                if name in _MACROS and len(ch) > 2 and isinstance(ch[2], Tree) and ch[2].children:
                    walk(ch[0], bound)
                    args = ch[2].children
                    var = _ident_of(args[0])
                    if var is None:
                        problems.append(f"the first argument of {name}() must be a variable name")
                        return
                    inner = bound | {var}
                    for a in args[1:]:
                        if isinstance(a, Tree):
                            walk(a, inner)
                    return
        for c in ch:
            if isinstance(c, Tree):
                walk(c, bound)

    walk(ast, frozenset())
    if problems:
        # one message per condition: the first problem is enough to fix it
        raise JourneyError(f"{where}: {problems[0]}")


def _ident_of(expr: Any) -> str | None:
    """The identifier an ``expr`` subtree consists of, if it is just one name."""
    node = expr
    while isinstance(node, Tree) and len(node.children) == 1 and node.data != "ident":
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "ident":
        return str(node.children[0])
    return None
