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
the plain Python activation directly (~1 µs, no conversion to CEL types).  Whenever that fast path meets anything
whose CEL semantics it does not reproduce exactly (mixed int/double, ``null``, lists compared with ``==``,
arithmetic, function calls, macros...), it hands the whole evaluation to cel-python, so results are cel-python's by
construction; ``tests/test_expr.py`` checks the two agree on randomly generated expressions.
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import celpy
from celpy import celtypes
from lark import Token, Tree

__all__ = [
    "COUNTERS",
    "Condition",
    "JourneyError",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "ROOT_VARIABLES",
    "compile_condition",
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

#: Functions and macros a condition may call (standard CEL; ``matches`` uses RE2, linear time).
ALLOWED_FUNCTIONS = frozenset({
    "has", "size", "contains", "startsWith", "endsWith", "matches",
    "exists", "all", "exists_one", "map", "filter",
    "int", "uint", "double", "string", "bool", "dyn", "type", "duration", "timestamp",
    "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear", "getMonth",
    "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
_MACROS = frozenset({"exists", "all", "exists_one", "map", "filter"})
_BRACKETS = frozenset({"paren_expr", "list_lit", "map_lit", "ident_arg", "member_dot_arg", "member_index"})

#: Process-wide counters (the Beam stage can report deltas as Metrics counters): ``errors`` (runtime CEL error →
#: False), ``non_bool`` (result not a bool → False), ``fallbacks`` (evaluated by cel-python's interpreter instead
#: of the fast path: ~0.2-0.3 ms each).  Each Condition also keeps its own ``errors``/``non_bool``/``fallbacks``.
COUNTERS: Counter = Counter()


class JourneyError(ValueError):
    """An invalid journey file or condition.  ``errors`` holds one ``"<file>:<line>: <path>: <what>"`` per problem."""

    def __init__(self, errors: str | Iterable[str]):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


# ------------------------------------------------------------------------------------------------ conversion
def _to_none(_v: Any) -> None:
    return None


_SCALARS: dict[type, Callable[[Any], Any]] = {
    bool: celtypes.BoolType,
    int: celtypes.IntType,
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

    __slots__ = ("text", "where", "_program", "_fast", "errors", "non_bool", "fallbacks")

    def __init__(self, text: str, where: str, program: Any, fast: Callable[[Mapping], Any] | None):
        self.text = text
        self.where = where
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
        return (compile_condition, (self.text, self.where))

    @property
    def is_fast(self) -> bool:
        """True when the fast path handles this condition's shape (it may still fall back at run time)."""
        return self._fast is not None

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """Evaluate against ``{"event": {...}, "customer": {...}}`` (plain Python values or Mappings)."""
        fast = self._fast
        if fast is not None:
            try:
                r = fast(activation)
            except _Fallback:
                pass
            except Exception:  # a bug in the fast path must not break the pipeline: let cel-python decide
                pass
            else:
                if r is True:
                    return True
                if r is False:
                    return False
                if r is _ERR:
                    self.errors += 1
                    COUNTERS["errors"] += 1
                else:
                    self.non_bool += 1
                    COUNTERS["non_bool"] += 1
                return False
        return self._slow(activation)

    def _slow(self, activation: Mapping[str, Any]) -> bool:
        self.fallbacks += 1
        COUNTERS["fallbacks"] += 1
        try:
            ctx = {k: to_cel(v) for k, v in activation.items()}
            r = self._program.evaluate(ctx)
        except Exception:  # CELEvalError, TypeError from conversion, RecursionError...: a failed condition
            self.errors += 1
            COUNTERS["errors"] += 1
            return False
        if isinstance(r, celtypes.BoolType):
            return bool(r)
        if isinstance(r, Exception):
            self.errors += 1
            COUNTERS["errors"] += 1
        else:
            self.non_bool += 1
            COUNTERS["non_bool"] += 1
        return False

    def evaluate_slow(self, activation: Mapping[str, Any]) -> bool:
        """cel-python only (for tests comparing the two paths)."""
        return self._slow(activation)


def compile_condition(text: str, where: str) -> Condition:
    """Compile a CEL condition once (at load time).  Raises JourneyError(``"<where>: <what is wrong>"``)."""
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
    program = env.program(ast)
    try:
        fast = _Fast().compile(ast)
    except _NotFast:
        fast = None
    return Condition(text, where, program, fast)


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
    return f"syntax error at {where} near {at!r}"


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
            if name not in ROOT_VARIABLES and name not in bound:
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
                problems.append(f"unknown function '{name}'")
                return
        if data in ("member_dot", "member_dot_arg"):
            name = str(ch[1])
            if name.startswith("_"):
                problems.append(f"field or method names starting with '_' are not allowed ('{name}')")
                return
            if data == "member_dot_arg":
                if name not in ALLOWED_FUNCTIONS:
                    problems.append(f"unknown method '{name}'")
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


# ------------------------------------------------------------------------------------------------ fast path
class _NotFast(Exception):
    """The condition's shape is outside the fast path: use cel-python for every evaluation."""


class _Fallback(Exception):
    """The values met at run time are outside the fast path: use cel-python for this evaluation."""


class _Err:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<CEL error>"


_ERR = _Err()  # a CEL error value (e.g. no such key), absorbed by && / || as CEL specifies
_FALLBACK = _Fallback()
_SCALAR_TYPES = (str, int, float, bool)
_IN_TYPES = (str, int, bool)  # not float: Python's `in` matches NaN by identity, CEL does not
_SIZED = (str, list, tuple, dict)
_STRING_METHODS = {"startsWith": str.startswith, "endsWith": str.endswith, "contains": str.__contains__}
_INT_RE = re.compile(r"-?[0-9]+\Z")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_SIMPLE_STR = re.compile(r"""(?:'[^'\\\n\r]*'|"[^"\\\n\r]*")\Z""")

_RELATIONS = {
    "relation_lt": lambda a, b: a < b,
    "relation_le": lambda a, b: a <= b,
    "relation_gt": lambda a, b: a > b,
    "relation_ge": lambda a, b: a >= b,
    "relation_eq": lambda a, b: a == b,
    "relation_ne": lambda a, b: a != b,
}


class _Fast:
    """Compiles the cel-python parse tree into closures ``f(activation) -> value | _ERR`` (or raises _Fallback)."""

    def compile(self, node: Tree) -> Callable[[Mapping], Any]:
        meth = getattr(self, "n_" + node.data, None)
        if meth is None:
            raise _NotFast(node.data)
        return meth(node)

    def _single(self, node: Tree) -> Callable[[Mapping], Any]:
        if len(node.children) != 1:
            raise _NotFast(node.data)
        return self.compile(node.children[0])

    n_addition = n_multiplication = n_member = n_primary = n_paren_expr = _single

    def n_expr(self, node: Tree):
        return self._single(node)  # the ternary ?: goes to cel-python

    def n_conditionalor(self, node: Tree):
        if len(node.children) == 1:
            return self.compile(node.children[0])
        a, b = self.compile(node.children[0]), self.compile(node.children[1])

        def f_or(act):
            x = a(act)
            if x is True:
                return True
            if x is not False and x is not _ERR:
                raise _FALLBACK
            y = b(act)
            if y is True:
                return True
            if y is False:
                return x  # False || False = False; err || False = err
            if y is _ERR:
                return _ERR
            raise _FALLBACK
        return f_or

    def n_conditionaland(self, node: Tree):
        if len(node.children) == 1:
            return self.compile(node.children[0])
        a, b = self.compile(node.children[0]), self.compile(node.children[1])

        def f_and(act):
            x = a(act)
            if x is False:
                return False
            if x is not True and x is not _ERR:
                raise _FALLBACK
            y = b(act)
            if y is False:
                return False
            if y is True:
                return x  # True && True = True; err && True = err
            if y is _ERR:
                return _ERR
            raise _FALLBACK
        return f_and

    def n_relation(self, node: Tree):
        if len(node.children) == 1:
            return self.compile(node.children[0])
        op_node, right = node.children
        op = op_node.data
        a = self.compile(op_node.children[0])
        if op == "relation_in":
            return self._in(a, right)
        b = self.compile(right)
        cmp = _RELATIONS[op]

        def f_rel(act):
            x = a(act)
            y = b(act)
            if x is _ERR or y is _ERR:
                return _ERR
            tx = type(x)
            if tx is not type(y) or tx not in _SCALAR_TYPES:
                raise _FALLBACK
            return cmp(x, y)
        return f_rel

    def _in(self, a, right: Tree):
        const = self._const_list(right)
        if const is not None:
            kinds = {type(v) for v in const}
            if len(kinds) > 1:
                raise _NotFast("mixed list literal")
            kind = kinds.pop() if kinds else None
            if kind is float:
                raise _NotFast("float list literal")
            members = frozenset(const)

            def f_in_const(act):
                x = a(act)
                if x is _ERR:
                    return _ERR
                if kind is None:
                    raise _FALLBACK
                if type(x) is not kind:
                    raise _FALLBACK
                return x in members
            return f_in_const
        b = self.compile(right)

        def f_in(act):
            x = a(act)
            y = b(act)
            if x is _ERR or y is _ERR:
                return _ERR
            tx = type(x)
            if tx not in _IN_TYPES or type(y) not in (list, tuple):
                raise _FALLBACK
            for v in y:
                if type(v) is not tx:
                    raise _FALLBACK
            return x in y
        return f_in

    def _const_list(self, node: Tree) -> list | None:
        """The values of a list literal of scalar literals, else None."""
        n = node
        while isinstance(n, Tree) and len(n.children) == 1 and n.data not in ("list_lit", "literal"):
            n = n.children[0]
        if not (isinstance(n, Tree) and n.data == "list_lit"):
            return None
        out: list = []
        if n.children:
            for item in n.children[0].children:
                lit = item
                while isinstance(lit, Tree) and len(lit.children) == 1 and lit.data != "literal":
                    lit = lit.children[0]
                if not (isinstance(lit, Tree) and lit.data == "literal"):
                    raise _NotFast("list literal with expressions")
                out.append(self._literal_value(lit))
        return out

    def n_unary(self, node: Tree):
        ch = node.children
        if len(ch) == 1:
            return self.compile(ch[0])
        if ch[0].data != "unary_not":
            raise _NotFast("unary minus")
        a = self.compile(ch[1])

        def f_not(act):
            x = a(act)
            if x is True:
                return False
            if x is False:
                return True
            if x is _ERR:
                return _ERR
            raise _FALLBACK
        return f_not

    def n_member_dot(self, node: Tree):
        base = self.compile(node.children[0])
        key = str(node.children[1])

        def f_get(act):
            m = base(act)
            if type(m) is dict or isinstance(m, Mapping):
                try:
                    return m[key]
                except KeyError:
                    return _ERR
            if m is _ERR:
                return _ERR
            raise _FALLBACK
        return f_get

    def n_member_index(self, node: Tree):
        base = self.compile(node.children[0])
        lit = node.children[1]
        while isinstance(lit, Tree) and len(lit.children) == 1 and lit.data != "literal":
            lit = lit.children[0]
        if not (isinstance(lit, Tree) and lit.data == "literal"):
            raise _NotFast("computed index")
        key = self._literal_value(lit)
        if type(key) is str:
            def f_key(act):
                m = base(act)
                if m is _ERR:
                    return _ERR
                if not isinstance(m, Mapping):
                    raise _FALLBACK
                try:
                    return m[key]
                except KeyError:
                    return _ERR
            return f_key
        if type(key) is int and key >= 0:  # cel-python accepts negative (Python) indexes: leave those to it
            def f_idx(act):
                m = base(act)
                if m is _ERR:
                    return _ERR
                if type(m) not in (list, tuple):
                    raise _FALLBACK
                if 0 <= key < len(m):
                    return m[key]
                return _ERR
            return f_idx
        raise _NotFast("index type")

    def n_ident(self, node: Tree):
        name = str(node.children[0])

        def f_var(act):
            try:
                return act[name]
            except KeyError:
                raise _FALLBACK from None
        return f_var

    def n_ident_arg(self, node: Tree):
        name = str(node.children[0])
        args = node.children[1].children if len(node.children) == 2 else []
        if name == "size" and len(args) == 1:
            a = self.compile(args[0])

            def f_size(act):
                x = a(act)
                if x is _ERR:
                    return _ERR
                if type(x) in _SIZED or isinstance(x, Mapping):
                    return len(x)
                raise _FALLBACK
            return f_size
        if name != "has" or len(args) != 1:
            raise _NotFast(name)
        target = args[0]
        while isinstance(target, Tree) and len(target.children) == 1 and target.data != "member_dot":
            target = target.children[0]
        if not (isinstance(target, Tree) and target.data == "member_dot"):
            raise _NotFast("has() of a non-field")
        base = self.compile(target.children[0])
        key = str(target.children[1])

        def f_has(act):
            m = base(act)
            if isinstance(m, Mapping):
                return key in m
            raise _FALLBACK
        return f_has

    def n_member_dot_arg(self, node: Tree):
        name = str(node.children[1])
        args = node.children[2].children if len(node.children) == 3 else []
        method = _STRING_METHODS.get(name)
        if method is None or len(args) != 1:
            raise _NotFast(name)
        a = self.compile(node.children[0])
        b = self.compile(args[0])

        def f_method(act):
            x = a(act)
            y = b(act)
            if x is _ERR or y is _ERR:
                return _ERR
            if type(x) is not str or type(y) is not str:
                raise _FALLBACK
            return method(x, y)
        return f_method

    def n_literal(self, node: Tree):
        v = self._literal_value(node)
        return lambda act: v

    @staticmethod
    def _literal_value(node: Tree) -> Any:
        tok: Token = node.children[0]
        t, s = tok.type, tok.value
        if t == "INT_LIT" and _INT_RE.match(s):
            v = int(s)
            if _INT64[0] <= v <= _INT64[1]:
                return v
        elif t == "FLOAT_LIT":
            return float(s)
        elif t == "BOOL_LIT":
            return s == "true"
        elif t == "STRING_LIT" and _SIMPLE_STR.match(s):
            return s[1:-1]
        raise _NotFast(t)
