"""The fast path of conditions: the common shapes of CEL conditions compiled into small Python closures.

cel-python's interpreter costs ~0.2 ms per evaluation, far over the per-event budget.  The common shape of journey
conditions (field access, comparisons of same-typed scalars, ``in`` over a list, ``has()``, ``&&``/``||``/``!``) is
compiled here, from the same cel-python parse tree, into closures ``f(activation) -> value | _ERR`` that read the
plain Python activation directly (~1 µs, no conversion to CEL types); int and double arithmetic too
(:mod:`journeyflow.stages.conditions_arithmetic`).  A shape it does not reproduce exactly makes :func:`compile_fast`
return None (cel-python evaluates every time), unless it is one operand of ``&&`` / ``||`` whose other operand is
in the fast path: that one is evaluated first and, when it decides alone (``false && x``, ``true || x``: CEL's
logical operators are commutative, an error absorbed; cel-spec langdef.md "Logical Operators"), cel-python is not
needed; when it does not, cel-python evaluates the whole condition.  A value met at run time that the fast path
does not handle (mixed int/double, ``null``, lists compared with ``==``, an integer beyond 64 bits...) raises
``_Fallback`` and cel-python evaluates that once.  ``tests/stages/test_expr.py`` checks the two paths agree on randomly generated expressions.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from typing import Any, Callable

from celpy.evaluation import celstr
from lark import Token, Tree

from journeyflow.stages.conditions_arithmetic import FALLBACK as _FALLBACK
from journeyflow.stages.conditions_arithmetic import INT64 as _INT64
from journeyflow.stages.conditions_arithmetic import Fallback as _Fallback
from journeyflow.stages.conditions_arithmetic import add, float_div, int_div, int_mod, int_or_double, neg

__all__ = ["_Fallback", "compile_fast"]


def compile_fast(ast: Tree) -> Callable[[Mapping], Any] | None:
    """The closure for a parsed condition, or None when its shape is outside the fast path."""
    try:
        return _Fast().compile(ast)
    except _NotFast:
        return None


class _NotFast(Exception):
    """The condition's shape is outside the fast path: use cel-python for every evaluation."""


class _Err:
    """The type of ``_ERR``, a CEL error value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<CEL error>"


_ERR = _Err()  # a CEL error value (e.g. no such key), absorbed by && / || as CEL specifies
_SCALAR_TYPES = (str, int, float, bool)
_IN_TYPES = (str, int, bool)  # not float: Python's `in` matches NaN by identity, CEL does not
_SIZED = (str, list, tuple, dict)
_STRING_METHODS = {"startsWith": str.startswith, "endsWith": str.endswith, "contains": str.__contains__}
_INT_RE = re.compile(r"-?[0-9]+\Z")
#: A ``matches`` remembers its result for up to this many texts of at most ``_MEMO_TEXT`` characters (a condition
#: reads the same few values again and again: ``customer.lifecycle_stage``); others are searched every time.
_MEMO_ENTRIES, _MEMO_TEXT = 1024, 200
_SIMPLE_STR = re.compile(r"""(?:'[^'\\\n\r]*'|"[^"\\\n\r]*")\Z""")

#: Types met at run time that are ``Mapping`` s (the activation's lazy ``customer``, ``traits``): ``isinstance``
#: against the ``Mapping`` ABC costs far more than a set look-up, and field access is the commonest node.
_MAPPING_TYPES: set[type] = {dict}


def _is_mapping(m: Any) -> bool:
    """``isinstance(m, Mapping)``, remembering the types that are (:data:`_MAPPING_TYPES`)."""
    if isinstance(m, Mapping):
        _MAPPING_TYPES.add(type(m))
        return True
    return False


class _Uint(int):
    """A CEL ``uint`` literal in the fast path (``12u``): compares by value with ints and doubles (CEL's
    heterogeneous numeric comparison); anything else about it goes to cel-python."""

    __slots__ = ()


#: Types compared by numeric value across each other (CEL: ``12 == 12u``, ``120 > 99.5``); not bool.
_NUMBERS = (int, float, _Uint)

_RELATIONS = {"relation_lt": operator.lt, "relation_le": operator.le, "relation_gt": operator.gt,
              "relation_ge": operator.ge, "relation_eq": operator.eq, "relation_ne": operator.ne}
#: Nodes compiled as their only child: a chain of them leads to what a subtree is (:func:`_through`).
_PASS = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary",
                   "member", "primary", "paren_expr"})


def _through(node: Any) -> Any:
    """The node a chain of one-child pass-through nodes leads to (compiling ``node`` compiles that one)."""
    while isinstance(node, Tree) and len(node.children) == 1 and node.data in _PASS:
        node = node.children[0]
    return node


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

    n_member = n_primary = n_paren_expr = _single

    def n_expr(self, node: Tree):
        return self._single(node)  # the ternary ?: goes to cel-python

    def _logical(self, node: Tree, short: bool) -> Callable[[Mapping], Any]:
        """``||`` (``short`` True) or ``&&`` (``short`` False) with CEL's commutative error absorption: the
        ``short`` value wins over an error on either side; otherwise an error wins over the other value."""
        if len(node.children) == 1:
            return self.compile(node.children[0])
        a, b = self._side(node.children[0]), self._side(node.children[1])
        if a is None and b is None:
            raise _NotFast(node.data)
        if a is None:  # the side outside the fast path runs second (CEL's && and || are commutative)
            a, b = b, _needs_cel
        elif b is None:
            b = _needs_cel
        other = not short

        def f_logical(act):
            x = a(act)
            if x is short:
                return short
            if x is not other and x is not _ERR:
                raise _FALLBACK
            y = b(act)
            if y is short:
                return short
            if y is other:
                return x  # False || False = False, True && True = True; err || False = err, err && True = err
            if y is _ERR:
                return _ERR
            raise _FALLBACK
        return f_logical

    def _side(self, node: Tree) -> Callable[[Mapping], Any] | None:
        """One operand of ``&&`` / ``||`` compiled, or None when its shape is outside the fast path: the other
        operand may decide alone (``false && x`` is false whatever ``x`` is, even an error), and when it does not,
        :func:`_needs_cel` sends the whole condition to cel-python."""
        try:
            return self.compile(node)
        except _NotFast:
            return None

    def n_conditionalor(self, node: Tree):
        return self._logical(node, True)

    def n_conditionaland(self, node: Tree):
        return self._logical(node, False)

    def n_relation(self, node: Tree):
        if len(node.children) == 1:
            return self.compile(node.children[0])
        op_node, right = node.children
        op = op_node.data
        a = self.compile(op_node.children[0])
        if op == "relation_in":
            return self._in(a, right)
        b = self.compile(right)
        lit = _through(right)  # a literal: its value, not a call (``customer.product_views_7d >= 3``)
        const = self._literal_value(lit) if isinstance(lit, Tree) and lit.data == "literal" else _ERR
        cmp = _RELATIONS[op]

        def f_rel(act):
            x = a(act)
            y = b(act) if const is _ERR else const
            if x is _ERR or y is _ERR:
                return _ERR
            tx = type(x)
            if (tx is int and not _INT64[0] <= x <= _INT64[1]) or (type(y) is int and not _INT64[0] <= y <= _INT64[1]):
                raise _FALLBACK  # no CEL int: cel-python reads it as the JSON number it is, a double (conditions.to_cel)
            if tx is not type(y) or tx not in _SCALAR_TYPES:
                if tx in _NUMBERS and type(y) in _NUMBERS:
                    return cmp(x, y)  # Python compares int and float exactly, as CEL does
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
                if type(x) is not kind or (kind is int and not _INT64[0] <= x <= _INT64[1]):
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
                if type(v) is not tx or (tx is int and not _INT64[0] <= v <= _INT64[1]):
                    raise _FALLBACK
            if tx is int and not _INT64[0] <= x <= _INT64[1]:
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
        if ch[0].data == "unary_neg":
            return self._arithmetic(None, ch[1], neg)
        if ch[0].data != "unary_not":
            raise _NotFast(ch[0].data)
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

    def _arithmetic(self, left: Tree | None, right: Tree, op: Callable[[Any, Any], Any]) -> Callable[[Mapping], Any]:
        """``left op right`` (``op(None, x)`` for a unary minus) with the operands' error propagated; ``op`` raises
        _Fallback for what it does not reproduce exactly (see :func:`journeyflow.stages.conditions_arithmetic.int_or_double`)."""
        a = self.compile(left) if left is not None else None
        b = self.compile(right)

        def f_arith(act):
            x = a(act) if a is not None else None
            y = b(act)
            if x is _ERR or y is _ERR:
                return _ERR  # an error operand makes the result an error (cel-spec: errors propagate)
            return op(x, y)
        return f_arith

    def _binary(self, node: Tree):
        """``addition`` / ``multiplication``: one operand, or ``[op node holding the left operand, right operand]``
        (the shape of cel-python's tree, as for relations)."""
        if len(node.children) == 1:
            return self.compile(node.children[0])
        op_node, right = node.children
        op = _ARITHMETIC.get(op_node.data)
        if op is None:
            raise _NotFast(op_node.data)
        return self._arithmetic(op_node.children[0], right, op)

    n_addition = n_multiplication = _binary

    def n_member_dot(self, node: Tree):
        root = _through(node.children[0])  # ``customer.x``: the variable read here, not by a call of n_ident's
        root = str(root.children[0]) if isinstance(root, Tree) and root.data == "ident" else None
        return self._field(self.compile(node.children[0]), str(node.children[1]), root)

    @staticmethod
    def _field(base: Callable[[Mapping], Any], key: str, root: str | None = None) -> Callable[[Mapping], Any]:
        """``base.key`` and ``base["key"]``: the map's value, a CEL error when the key is missing; ``root``: the
        variable ``base`` reads, read here as ``base`` would (missing: _Fallback)."""

        def f_get(act):
            if root is None:
                m = base(act)
            else:
                try:
                    m = act[root]
                except KeyError:
                    raise _FALLBACK from None
            if type(m) is dict or type(m) in _MAPPING_TYPES or _is_mapping(m):
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
            return self._field(base, key)
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
            if type(m) is dict or type(m) in _MAPPING_TYPES or _is_mapping(m):
                return key in m
            raise _FALLBACK
        return f_has

    def n_member_dot_arg(self, node: Tree):
        name = str(node.children[1])
        args = node.children[2].children if len(node.children) == 3 else []
        if name == "matches" and len(args) == 1:
            return self._matches(node.children[0], args[0])
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

    def _matches(self, target: Tree, pattern: Tree) -> Callable[[Mapping], Any]:
        """``x.matches('literal')`` with cel-python's own engine (``re2.search``: RE2 syntax, as cel-spec says),
        the pattern compiled once; a pattern that is no literal string or does not compile goes to cel-python."""
        import re2  # (cel-python's dependency: the very engine its matches() calls)
        node = _literal_node(pattern)
        lit = None if node is None else self._literal_value(node)
        if type(lit) is not str:
            raise _NotFast("matches")
        try:
            search = re2.compile(lit).search
        except re2.error:
            raise _NotFast("matches") from None
        a = self.compile(target)
        memo: dict[str, bool] = {}  # text -> result (a pure function of it): re2's Python layer is ~17 k instructions

        def f_matches(act):
            x = a(act)
            if x is _ERR:
                return _ERR
            if type(x) is not str:
                raise _FALLBACK
            r = memo.get(x)
            if r is None:
                r = search(x) is not None
                if len(memo) < _MEMO_ENTRIES and len(x) <= _MEMO_TEXT:
                    memo[x] = r
            return r
        return f_matches

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
        elif t == "UINT_LIT" and re.fullmatch(r"[0-9]+[uU]", s):
            v = int(s[:-1])
            if v < 2 ** 64:
                return _Uint(v)
        elif t == "FLOAT_LIT":
            return float(s)
        elif t == "BOOL_LIT":
            return s == "true"
        elif t in ("STRING_LIT", "MLSTRING_LIT"):  # escapes, raw and triple-quoted strings read as cel-python does
            if _SIMPLE_STR.match(s):
                return s[1:-1]
            return str(celstr(tok))
        raise _NotFast(t)


#: cel-python's operator nodes of ``+ - * / %`` -> the fast operator (journeyflow.stages.conditions_arithmetic)
_ARITHMETIC = {"addition_add": add, "addition_sub": int_or_double(int.__sub__, float.__sub__),
               "multiplication_mul": int_or_double(int.__mul__, float.__mul__),
               "multiplication_div": int_or_double(int_div, float_div), "multiplication_mod": int_or_double(int_mod, None)}


def _needs_cel(_act: Mapping) -> Any:
    """An operand outside the fast path, reached: cel-python evaluates the whole condition (raises _Fallback)."""
    raise _FALLBACK


def _literal_node(node: Tree) -> Tree | None:
    """The literal at the end of a chain of single-child nodes (how the parse tree wraps one), else None."""
    while isinstance(node, Tree) and len(node.children) == 1 and node.data != "literal":
        node = node.children[0]
    return node if isinstance(node, Tree) and node.data == "literal" else None
