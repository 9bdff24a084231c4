"""Static type checking of CEL conditions against declared fields (issue 19, point 5).

A condition is parsed by cel-python (:mod:`journeyflow.stages.conditions`); this module walks the same parse tree
with the types of the variables it may use and rejects, at load time, what would make the condition fail or never
fire at run time: an unknown field (``customer.lifecycle``, ``event.produkt_id``), a comparison of values of
different types (``customer.product_views_7d >= '3'``), ``&&``/``||``/``!`` on a non-bool, a condition whose
result is not a bool.  The rules are CEL's (https://github.com/google/cel-spec/blob/master/doc/langdef.md):

* numbers: ``int``, ``uint`` and ``double`` compare with each other (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``:
  CEL's heterogeneous numeric comparison, so ``event.amount > 99`` is fine for a ``double`` amount), but arithmetic
  needs one type on both sides (``1 + 1.0`` has no overload);
* other types compare only with their own type; ``null`` only with ``dyn`` (a typed ``x == null`` is refused:
  never null, absent is absent, ``!has(x)`` tests that);
* ``dyn`` (a value of unknown type: an undeclared property, a map of unknown values) checks against anything.

Types are :class:`T` values: a primitive name (``int``, ``uint``, ``double``, ``string``, ``bool``, ``bytes``,
``null``, ``timestamp``, ``duration``, ``dyn``), ``list(elem)``, ``map(value)`` (string keys) or a struct (named
fields; ``open`` structs answer ``dyn`` for unknown fields).  Errors are :class:`CelTypeError` with one message.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping

from celpy.evaluation import celstr
from lark import Token, Tree

from journeyflow.stages.conditions import TYPE_NAMES as _TYPE_NAMES
from journeyflow.stages.conditions import _ident_of as _ident  # the one 'is this subtree one name' helper

__all__ = ["CelTypeError", "T", "check_condition", "parse_type", "struct", "DYN", "INT", "UINT", "DOUBLE", "STRING",
           "BOOL", "NULL", "TIMESTAMP", "EPOCH_MS", "NUMERIC"]


class CelTypeError(Exception):
    """A condition does not type-check; ``str(e)`` is the problem in words, ``offset`` (when known) the position in
    the condition text of the part it is about."""

    offset: int | None = None


@dataclass(frozen=True)
class T:
    """A CEL type: ``kind`` is a primitive name, ``list``, ``map`` or ``struct``; ``elem`` the element (list) or
    value (map) type; ``fields`` a struct's fields; ``name`` what messages call a struct (``event 'login'``)."""

    kind: str
    elem: "T | None" = None
    fields: Mapping[str, "T"] = field(default_factory=dict)
    name: str = ""
    open: bool = False

    def __str__(self) -> str:
        if self.kind == "list":
            return f"list({self.elem})"
        if self.kind == "map":
            return f"map(string, {self.elem})"
        if self.kind == "struct":
            return self.name or "object"
        if self.name:  # a declared type that is another at run time: EPOCH_MS
            return f"{self.name} (an int of epoch ms)"
        return self.kind

    def __hash__(self) -> int:
        return hash((self.kind, self.elem, self.name))


DYN, INT, UINT, DOUBLE, STRING, BOOL, NULL = (T(k) for k in ("dyn", "int", "uint", "double", "string", "bool",
                                                            "null"))
BYTES, TIMESTAMP, DURATION, TYPE = T("bytes"), T("timestamp"), T("duration"), T("type")
NUMERIC = frozenset({"int", "uint", "double"})
#: A declared ``timestamp`` (property, trait, or a computed value of one): the value is an int of epoch ms, as
#: ``event.ts`` is (``stages.declared_types`` accepts integers only), never a CEL ``timestamp`` -- so conditions
#: compare it with ints (``event.properties.renews_at > event.ts``) and a CEL timestamp (``timestamp('...')``,
#: ``.getHours()``) is an error at load time instead of a failure at every evaluation.
EPOCH_MS = T("int", name="timestamp")
#: The declarable scalar types (not ``uint``: a JSON integer is a CEL ``int`` at run time, so ``n + 1u`` would fail)
_PRIMITIVES = {t.kind: t for t in (DYN, INT, DOUBLE, STRING, BOOL)} | {"timestamp": EPOCH_MS}


def struct(name: str, fields: Mapping[str, T], open: bool = False) -> T:
    """A struct type (a map with known keys); ``open``: unknown fields are ``dyn`` instead of an error."""
    return T("struct", fields=dict(fields), name=name, open=open)


def parse_type(text: Any) -> T:
    """A declared type name → :class:`T` (:func:`journeyflow.stages.declared_types.parse_type`, which has the
    rules); raises ValueError naming the accepted types."""
    from journeyflow.stages.declared_types import parse_type as parse
    return parse(text)


def check_condition(ast: Tree, variables: Mapping[str, T]) -> None:
    """Type-check a parsed condition; raises CelTypeError unless it is a bool (or dyn) expression."""
    t = _Checker(variables).check(ast, {})
    if t.kind not in ("bool", "dyn"):
        raise CelTypeError(f"the condition is {_a(t)}, not a bool")


def _is(t: T, *kinds: str) -> bool:
    return t.kind == "dyn" or t.kind in kinds


def _comparable(a: T, b: T) -> bool:
    """CEL's comparison rule: same type, numbers across int/uint/double, null or dyn with anything."""
    if a.kind in ("dyn", "null") or b.kind in ("dyn", "null"):
        return True
    if a.kind in NUMERIC and b.kind in NUMERIC:
        return True
    if a.kind != b.kind:
        return False
    if a.kind in ("list", "map"):
        return _comparable(a.elem or DYN, b.elem or DYN)
    return True


def _path(node: Any) -> str:
    """The source text of a member chain (``customer.traits.plan``) for messages."""
    while isinstance(node, Tree) and len(node.children) == 1 and node.data not in ("ident", "literal"):
        node = node.children[0]
    if isinstance(node, Tree):
        if node.data == "ident":
            return str(node.children[0])
        if node.data == "literal":
            return str(node.children[0].value)
        if node.data == "member_dot":
            return f"{_path(node.children[0])}.{node.children[1]}"
    return "the value"


class _Checker:
    """Infers the type of each node; raises CelTypeError at the first problem."""

    def __init__(self, variables: Mapping[str, T]):
        self.vars = variables

    def check(self, node: Any, bound: Mapping[str, T]) -> T:
        if isinstance(node, Token):
            raise CelTypeError(f"unexpected {node.type}")
        try:
            meth = getattr(self, "n_" + node.data, None)
            if meth is not None:
                return meth(node, bound)
            if len(node.children) == 1:
                return self.check(node.children[0], bound)
            return DYN  # a shape this checker does not know: leave it to run time
        except CelTypeError as e:
            if getattr(e, "offset", None) is None:  # the innermost node the problem is about
                e.offset = getattr(node.meta, "start_pos", None)
            raise

    # -- logic
    def n_expr(self, node: Tree, bound) -> T:
        ch = node.children
        if len(ch) == 1:
            return self.check(ch[0], bound)
        c, a, b = (self.check(x, bound) for x in ch)
        if not _is(c, "bool"):
            raise CelTypeError(f"the condition of ?: is a {c}, not a bool")
        if a.kind == "dyn" or b.kind == "dyn":
            return DYN
        if not _comparable(a, b) or (a.kind != b.kind and a.kind in NUMERIC and b.kind in NUMERIC):
            raise CelTypeError(f"the branches of ?: have different types ({a} and {b})" + (  # (cel-go's checker too)
                ": CEL does not mix number types, write both as one (0.0 for a double, or double(), int())"
                if a.kind in NUMERIC and b.kind in NUMERIC else ""))
        return a

    def _logic(self, node: Tree, bound, op: str) -> T:
        ch = node.children
        if len(ch) == 1:
            return self.check(ch[0], bound)
        for x in ch:
            t = self.check(x, bound)
            if not _is(t, "bool"):
                raise CelTypeError(f"{op} needs bools, got {t} ({_path(x)})")
        return BOOL

    def n_conditionalor(self, node, bound):
        return self._logic(node, bound, "||")

    def n_conditionaland(self, node, bound):
        return self._logic(node, bound, "&&")

    def n_unary(self, node: Tree, bound) -> T:
        ch = node.children
        if len(ch) == 1:
            return self.check(ch[0], bound)
        t = self.check(ch[1], bound)
        if ch[0].data == "unary_not":
            if not _is(t, "bool"):
                raise CelTypeError(f"! needs a bool, got {t} ({_path(ch[1])})")
            return BOOL
        if not _is(t, "int", "double"):
            raise CelTypeError(f"- needs an int or a double, got {t}")
        return t

    # -- relations and arithmetic
    def n_relation(self, node: Tree, bound) -> T:
        ch = node.children
        if len(ch) == 1:
            return self.check(ch[0], bound)
        op_node, right = ch
        op = op_node.data
        a_node = op_node.children[0]
        a, b = self.check(a_node, bound), self.check(right, bound)
        if op == "relation_in":
            if b.kind == "dyn":
                return BOOL
            if b.kind == "list":
                if not _comparable(a, b.elem or DYN):
                    raise CelTypeError(f"'in' compares a {a} with the items of a {b}")
                return BOOL
            if b.kind in ("map", "struct"):
                if not _is(a, "string"):
                    raise CelTypeError(f"'in' looks up a {a} in a map with string keys")
                lit = _literal_token(a_node)  # ('plna' in event.properties: a typo, false for every event, as has())
                if b.kind == "struct" and lit is not None and lit.type in ("STRING_LIT", "MLSTRING_LIT"):
                    self._field(b, str(celstr(lit)), _describe(b, _path(right)))
                return BOOL
            raise CelTypeError(f"'in' needs a list or a map on the right, got {b}")
        if not _comparable(a, b):
            raise CelTypeError(f"{_path(a_node)} is {_a(a)}, compared with {_a(b)} ({_path(right)}): " + (
                _time_hint(a, b) or "CEL compares values of one type (numbers: int, uint and double)"))
        if op in ("relation_eq", "relation_ne") and (a.kind == "null") != (b.kind == "null"):
            _never_null(*((b, right) if a.kind == "null" else (a, a_node)), op == "relation_eq")
        if op not in ("relation_eq", "relation_ne"):
            for t in (a, b):  # (null has no order: `x < null` is an error in CEL)
                if t.kind not in ("dyn", "string", "bytes", "timestamp", "duration", "bool") \
                        and t.kind not in NUMERIC:
                    raise CelTypeError(f"a {t} cannot be ordered")
        return BOOL

    def _arith(self, node: Tree, bound, ops: Mapping[str, str]) -> T:
        ch = node.children
        if len(ch) == 1:
            return self.check(ch[0], bound)
        op_node, right = ch
        a, b = self.check(op_node.children[0], bound), self.check(right, bound)
        sym = ops.get(op_node.data, "?")
        if a.kind == "dyn" or b.kind == "dyn":
            return b if a.kind == "dyn" else a
        if sym == "+" and a.kind == b.kind and a.kind in ("string", "bytes", "list"):
            return a
        if sym in ("+", "-") and {a.kind, b.kind} <= {"timestamp", "duration"}:
            return TIMESTAMP if "timestamp" in (a.kind, b.kind) and a.kind != b.kind else (
                DURATION if a.kind == b.kind == "timestamp" and sym == "-" else a)
        if a.kind in NUMERIC and a.kind == b.kind and not (sym == "%" and a.kind == "double"):
            return a
        hint = _time_hint(a, b)
        raise CelTypeError(f"no overload for {a} {sym} {b} " + (f"({hint})" if hint else (
            "(CEL does not mix number types in arithmetic: convert with int(), uint() or double())")))

    def n_addition(self, node, bound):
        return self._arith(node, bound, {"addition_add": "+", "addition_sub": "-"})

    def n_multiplication(self, node, bound):
        return self._arith(node, bound, {"multiplication_mul": "*", "multiplication_div": "/",
                                         "multiplication_mod": "%"})

    # -- access
    def n_ident(self, node: Tree, bound) -> T:
        name = str(node.children[0])
        if name in bound:
            return bound[name]
        t = self.vars.get(name)
        if t is None and name in _TYPE_NAMES:  # (``type(x) == string``)
            return TYPE
        if t is None:  # (customer in a computed attribute's where: it is evaluated on the event alone)
            raise CelTypeError(f"unknown variable '{name}'" + (
                f" (this condition sees {' and '.join(sorted(self.vars))} only)" if self.vars else ""))
        return t

    def _field(self, base: T, key: str, where: str) -> T:
        if base.kind == "struct":
            t = base.fields.get(key)
            if t is not None:
                return t
            if base.open:
                return DYN
            hint = difflib.get_close_matches(key, list(base.fields), n=1, cutoff=0.6)
            other = self._elsewhere(key, base)
            extra = f" (did you mean '{other}'?)" if other else f" (did you mean '{hint[0]}'?)" if hint else (
                " (none is declared: declare it in an attributes file, under traits:, attributes: or events: NAME: "
                "properties:, and pass it with --attributes)" if not base.fields else
                f" (known: {', '.join(sorted(base.fields))})" if len(base.fields) <= 12 else "")
            raise CelTypeError(f"unknown field '{key}' of {where}{extra}")
        if base.kind == "map":
            return base.elem or DYN
        if base.kind == "dyn":
            return DYN
        raise CelTypeError(f"{where} is a {base}: it has no field '{key}'")

    def _elsewhere(self, key: str, base: T) -> str | None:
        """The path of ``key`` where the condition's variables do have it, when not in ``base``: a trait read as
        ``customer.plan`` is ``customer.traits.plan``, a property read as ``event.seats`` ``event.properties.seats``
        (and back); None when it is nowhere else."""
        places = []
        for root, t in ((r, self.vars.get(r)) for r in ("event", "customer")):
            if t is None or t.kind != "struct":
                continue
            places.append((root, t))
            for sub in ("properties", "traits"):
                st = t.fields.get(sub)
                if st is not None and st.kind == "struct" and not st.open:
                    places.append((f"{root}.{sub}", st))
        home = next((path.split(".")[0] for path, t in places if t is base), None)
        places.sort(key=lambda place: place[0].split(".")[0] != home)  # the base's own root first (stable)
        for path, t in places:
            if t is not base and key in t.fields:
                return f"{path}.{key}"
        return None

    def n_member_dot(self, node: Tree, bound) -> T:
        base_node, name = node.children
        base = self.check(base_node, bound)
        return self._field(base, str(name), _describe(base, _path(base_node)))

    def n_member_index(self, node: Tree, bound) -> T:
        base_node, idx_node = node.children
        base, idx = self.check(base_node, bound), self.check(idx_node, bound)
        if base.kind == "list":
            if not _is(idx, "int", "uint"):
                raise CelTypeError(f"a list index must be an int, got {idx}")
            return base.elem or DYN
        if base.kind == "struct":
            lit = _literal_token(idx_node)
            if lit is not None and lit.type in ("STRING_LIT", "MLSTRING_LIT"):  # (escapes, r'...' as CEL reads them)
                return self._field(base, str(celstr(lit)), _describe(base, _path(base_node)))
            return DYN
        if base.kind == "map":
            if not _is(idx, "string"):
                raise CelTypeError(f"a map key must be a string, got {idx}")
            return base.elem or DYN
        if base.kind == "dyn":
            return DYN
        raise CelTypeError(f"a {base} cannot be indexed")

    def n_literal(self, node: Tree, bound) -> T:
        tok = node.children[0]
        if tok.type in ("INT_LIT", "UINT_LIT"):  # CEL's parser rejects an integer literal outside its type
            text = str(tok).rstrip("uU")
            v = int(text, 16 if "0x" in text else 10)
            if not (-2**63 <= v < 2**63 if tok.type == "INT_LIT" else v < 2**64):
                raise CelTypeError(f"integer literal {tok} is out of range (int: 64-bit signed, uint: 64-bit "
                                   f"unsigned; a double is written with a point: {text}.0)")
        return {"INT_LIT": INT, "UINT_LIT": UINT, "FLOAT_LIT": DOUBLE, "STRING_LIT": STRING, "MLSTRING_LIT": STRING,
                "BYTES_LIT": BYTES, "BOOL_LIT": BOOL, "NULL_LIT": NULL}.get(tok.type, DYN)

    def n_list_lit(self, node: Tree, bound) -> T:
        items = [self.check(x, bound) for x in (node.children[0].children if node.children else ())]
        kinds = {t for t in items if t.kind != "dyn"}
        return T("list", elem=kinds.pop() if len(kinds) == 1 else DYN)

    def n_map_lit(self, node: Tree, bound) -> T:
        return T("map", elem=DYN)

    # -- calls
    def n_ident_arg(self, node: Tree, bound) -> T:
        name = str(node.children[0])
        args = node.children[1].children if len(node.children) == 2 else []
        if name == "has":
            if len(args) != 1:
                raise CelTypeError("has() takes one field, e.g. has(event.csat)")
            self._has(args[0], bound)
            return BOOL
        ts = [self.check(a, bound) for a in args]
        if name == "size":
            if len(ts) != 1 or not _is(ts[0], "string", "bytes", "list", "map", "struct"):
                raise CelTypeError(f"size() needs a string, list or map, got {', '.join(map(str, ts))}")
            return INT
        if name == "matches":  # matches(text, pattern), the function form of text.matches(pattern)
            if len(ts) != 2 or not _is(ts[0], "string") or not _is(ts[1], "string"):
                raise CelTypeError(f"matches() takes a string and a pattern, got {', '.join(map(str, ts))}")
            self._method(STRING, "matches", ts[1:], args[1:])
            return BOOL
        if len(ts) != 1:
            raise CelTypeError(f"{name}() takes one argument, got {len(ts)}")
        takes = _CONVERSIONS.get(name)
        if takes is not None and not _is(ts[0], *takes):
            hint = _time_hint(ts[0], _CONVERTS_TO[name]) if name in ("timestamp", "duration") else None
            raise CelTypeError(f"{name}() has no overload for {_a(ts[0])} (it converts {', '.join(takes)})"
                               + (f": {hint}" if hint else ""))
        return _CONVERTS_TO.get(name, DYN)

    def _has(self, arg: Any, bound) -> None:
        target = arg
        while isinstance(target, Tree) and len(target.children) == 1 and target.data != "member_dot":
            target = target.children[0]
        if not (isinstance(target, Tree) and target.data == "member_dot"):
            key = _literal_token(target.children[1]) if isinstance(target, Tree) and target.data == "member_index" \
                else None  # (has(m['Plan Type']): CEL's has() takes a.b only; a key with spaces is tested with in)
            raise CelTypeError("has() needs a field selection, e.g. has(event.csat)" + (
                f"; test a key with {key.value} in {_path(target.children[0])}" if key is not None else ""))
        self.n_member_dot(target, bound)  # an unknown field is an error in has() too

    def n_member_dot_arg(self, node: Tree, bound) -> T:
        base_node, name_tok = node.children[0], str(node.children[1])
        args = node.children[2].children if len(node.children) == 3 else []
        base = self.check(base_node, bound)
        if name_tok in ("exists", "all", "exists_one", "map", "filter"):
            elem = (base.elem or DYN) if base.kind == "list" else STRING if base.kind in ("map", "struct") else DYN
            if not _is(base, "list", "map", "struct") or not 2 <= len(args) <= (3 if name_tok == "map" else 2):
                raise CelTypeError(f"{name_tok}() takes a variable and an expression on a list or map, got "
                                   f"{len(args)} argument(s) on {_a(base)} ({_path(base_node)})")
            var = _ident(args[0]) if args else None
            inner = {**bound, var: elem} if var else bound
            body = [self.check(a, inner) for a in args[1:]]
            if name_tok == "map" and len(body) == 2 and not _is(body[0], "bool"):
                raise CelTypeError(f"map()'s filter (its second argument) needs a bool, got {body[0]}")
            if name_tok in ("exists", "all", "exists_one", "filter"):
                if body and not _is(body[-1], "bool"):
                    raise CelTypeError(f"{name_tok}() needs a bool predicate, got {body[-1]}")
                return BOOL if name_tok != "filter" else T("list", elem=elem)
            return T("list", elem=body[-1] if body else DYN)
        ts = [self.check(a, bound) for a in args]
        if name_tok in ("startsWith", "endsWith", "contains", "matches"):
            if not _is(base, "string") or any(not _is(t, "string") for t in ts):
                got = ", ".join(str(t) for t in (base, *ts))
                raise CelTypeError(f"{name_tok}() works on strings, got {got} ({_path(base_node)}.{name_tok}(...))")
            self._method(base, name_tok, ts, args)
            return BOOL
        if name_tok == "size":
            if ts or not _is(base, "string", "bytes", "list", "map", "struct"):
                raise CelTypeError(f"size() takes no argument and needs a string, list or map, got {base} "
                                   f"({_path(base_node)}.size(...))")
            return INT
        if name_tok.startswith("get"):
            if not _is(base, "timestamp", "duration"):
                raise CelTypeError(f"{name_tok}() needs a CEL timestamp or duration, got {base}")
            if base.kind == "duration" and name_tok not in ("getHours", "getMinutes", "getSeconds", "getMilliseconds"):
                raise CelTypeError(f"{name_tok}() needs a CEL timestamp, got a duration")
            if (base.kind == "duration" and ts) or len(ts) > 1 or any(
                    not _is(t, "string") for t in ts):
                takes = "no argument" if base.kind == "duration" else "at most a time zone (a string)"
                raise CelTypeError(f"{name_tok}() of {_a(base)} takes {takes} ({_path(base_node)}.{name_tok}(...))")
            return INT
        return DYN

    @staticmethod
    def _method(base: T, name: str, ts: list[T], args: list) -> None:
        """A string method's one argument (a ``matches`` pattern that is no RE2 fails at every evaluation: refused
        by :mod:`journeyflow.stages.conditions_constants`, which reads it as CEL does)."""
        if len(ts) != 1:
            raise CelTypeError(f"{name}() takes one string, got {len(ts)} argument(s)")


#: CEL's conversion functions (langdef.md "Type conversions"): what each converts from, and to.
_CONVERSIONS = {"int": ("int", "uint", "double", "string", "timestamp", "bool"), "uint": ("int", "uint", "double", "string"),
                "double": ("int", "uint", "double", "string"), "bool": ("bool", "string"), "bytes": ("bytes", "string"),
                "string": ("int", "uint", "double", "bool", "string", "bytes", "timestamp", "duration"),
                "duration": ("string", "duration"), "timestamp": ("string", "timestamp")}
_CONVERTS_TO = {"int": INT, "uint": UINT, "double": DOUBLE, "string": STRING, "bool": BOOL, "dyn": DYN, "type": TYPE,
                "duration": DURATION, "timestamp": TIMESTAMP, "bytes": BYTES}


def _never_null(t: T, node: Any, eq: bool) -> None:
    """Refuses ``x == null`` / ``x != null`` for an ``x`` of a known type (not ``dyn``): never null (a null sent is
    removed on input; a field not sent is absent: cel-spec langdef "Field Selection", absent keys are errors and
    ``has()`` tests presence; ``_==_`` is ``(A, A) -> bool``), so ``== null`` never held."""
    if t.kind not in ("dyn", "null"):
        path = _path(node)
        raise CelTypeError(f"{path} is {_a(t)} and is never null" + (
            f": a field that was not sent is absent, not null (CEL: has() tests presence); write "
            f"{'!' if eq else ''}has({path})" if path.startswith(("event.", "customer.traits.")) else
            ": CEL compares null only with null (and dyn values)"))


def _time_hint(a: T, b: T) -> str | None:
    """The hint for an int (epoch ms: ``event.ts``, a declared timestamp) met with a CEL timestamp or duration
    (cel-spec langdef, Standard Definitions: ``int(timestamp)`` is its epoch *seconds*)."""
    kinds = {a.kind, b.kind}
    if "int" not in kinds or not kinds & {"timestamp", "duration"}:
        return None
    return "event.ts and declared timestamps are ints of epoch ms, not CEL timestamps: " + (
        "compare them with epoch ms, e.g. event.ts > int(timestamp('2026-01-01T00:00:00Z')) * 1000 (int() of a "
        "timestamp is its epoch seconds)" if "timestamp" in kinds else
        "write durations in milliseconds, e.g. event.ts - 86400000 for 24 hours (duration('24h'))")


def _a(t: T) -> str:
    """``an int``, ``a string``..."""
    s = str(t)
    return ("an " if s[:1] in "aeiou" else "a ") + s


def _describe(t: T, path: str) -> str:
    return t.name if t.kind == "struct" and t.name else f"'{path}'"


def _literal_token(node: Any) -> Token | None:
    while isinstance(node, Tree) and len(node.children) == 1 and node.data != "literal":
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "literal":
        return node.children[0]
    return None
