"""Parts of a condition that fail at every evaluation, refused at load time (after the type check).

A part of a condition that reads no variable (``int('3a')``, ``timestamp('2026-13-01T00:00:00Z')``,
``duration('1 hour')``, ``9223372036854775807 + 1``) has one value for every event; when that value is an error,
the condition (or its branch) fails at every evaluation, counted as a condition error and never true.  Such parts
are evaluated once here, with the runtime the conditions use (cel-python with :mod:`.conditions_spec`'s rules), and
an error is a load error naming the part.  So are the arguments that make a call fail whatever its other operand:

* ``x.matches(p)`` / ``matches(x, p)`` with a ``p`` that reads no variable and is no RE2 pattern (``'\\\\d(?=-)'``:
  RE2 has no lookarounds; escapes and raw strings ``r'...'`` are read as CEL reads them);
* ``t.getHours(z)`` (and the other ``get...`` functions) with a constant time zone ``z`` CEL does not know;
* ``x / 0`` and ``x % 0`` with an integer zero (cel-spec langdef "Arithmetic": an error for ints and uints; a double
  has no overload with an int divisor) -- ``x / 0.0`` is IEEE 754's infinity or NaN, no error;
* ``l[-1]``: a negative index is outside every list (a JSON map has string keys only).

Errors are :class:`journeyflow.stages.typecheck.CelTypeError` with the offset of the part in the condition text.
"""
from __future__ import annotations

import re
from typing import Any

import re2
from lark import Token, Tree

from journeyflow.stages.conditions import TYPE_NAMES, _env
from journeyflow.stages.conditions_spec import SPEC_FUNCTIONS, run_program
from journeyflow.stages.typecheck import CelTypeError

__all__ = ["check_constants"]

#: The nodes a constant part is evaluated at (cel-python's interpreter evaluates any of them alone).
_EVALUATED = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary",
                        "member"})
_TIME_PARTS = frozenset({"getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear", "getMonth",
                         "getHours", "getMinutes", "getSeconds", "getMilliseconds"})
#: What the conversions of a string read (cel-spec langdef "Type conversions", as cel-go: conditions_spec).
_READS = {"int": "a decimal integer of 64 bits: '42', '-7'", "uint": "a decimal integer from 0 to 2**64 - 1",
          "double": "a decimal number: '2.5', '1e3'",
          "bool": "true, True, TRUE, t, T or 1; false, False, FALSE, f, F or 0",
          "duration": "a number with a unit, h, m, s, ms, us or ns: '90s', '1.5h', '1h30m'",
          "timestamp": "an RFC 3339 time with its zone: '2026-01-01T00:00:00Z'"}
#: What RE2 (cel-spec's regular expressions) lacks that Python, Java or JavaScript patterns use: a word of RE2's
#: error -> the hint
_RE2_HINTS = (("\\Z", "RE2 writes the end of the text \\z"), ("perl operator", "RE2 has no lookarounds"),
              ("repetition operator", "RE2 has no possessive quantifiers"),
              ("escape sequence: \\", "RE2 has no backreferences or this escape"))
_CEL_TYPE = re.compile(r"\b(?:String|Int|Uint|Double|Bool|Bytes)Type\((.*?)\)")


def check_constants(ast: Tree, text: str) -> None:
    """Raise CelTypeError for the first part of the parsed condition ``ast`` (of source ``text``) that fails at
    every evaluation (see the module docstring)."""
    _Walk(text).walk(ast)


class _Walk:
    def __init__(self, text: str):
        self.text = text

    def walk(self, node: Tree) -> None:
        if node.data in _EVALUATED and _constant(node):
            if not _plain_literal(node):
                self.value(node, None)
            return
        if node.data == "member_dot_arg":
            name = str(node.children[1])
            args = node.children[2].children if len(node.children) == 3 else []
            if name == "matches" and len(args) == 1:
                self.pattern(args[0])
            elif name in _TIME_PARTS and len(args) == 1:
                self.zone(args[0])
        elif node.data == "ident_arg" and str(node.children[0]) == "matches" and len(node.children) == 2 \
                and len(node.children[1].children) == 2:
            self.pattern(node.children[1].children[1])
        elif node.data == "multiplication" and len(node.children) == 2 and isinstance(node.children[0], Tree) \
                and node.children[0].data in ("multiplication_div", "multiplication_mod"):
            self.divisor(node.children[1], "/" if node.children[0].data == "multiplication_div" else "%")
        elif node.data == "member_index" and _constant(node.children[1]):
            self.index(node.children[1])
        for child in node.children:
            if isinstance(child, Tree):
                self.walk(child)

    # -- the checks
    def value(self, node: Tree, what: str | None) -> Any:
        """The value of the constant ``node``; an error value raises CelTypeError (``what``: the part's role)."""
        try:
            r = run_program(_env().program(node, functions=SPEC_FUNCTIONS), {})
        except Exception as e:  # (the interpreter raised instead of returning an error value)
            r = e
        if isinstance(r, Exception):
            if what is None:
                node, r = self.innermost(node, r)
            self.fail(node, f"{what or self.source(node)} fails at every evaluation: {self.reason(node, r)}")
        return r

    def innermost(self, node: Tree, error: Exception) -> tuple[Tree, Exception]:
        """The smallest part of the failing constant ``node`` that fails (``int('3a')`` in ``int('3a') > 0``)."""
        for sub in node.iter_subtrees_topdown():
            if sub is node or sub.data not in _EVALUATED or _plain_literal(sub):
                continue
            try:
                r = run_program(_env().program(sub, functions=SPEC_FUNCTIONS), {})
            except Exception as e:
                r = e
            if isinstance(r, Exception):
                return self.innermost(sub, r)
        return node, error

    def reason(self, node: Tree, error: Exception) -> str:
        """Why ``node`` fails: for a conversion of a string (``bool('yes')``) what the conversion reads."""
        call = node
        while isinstance(call, Tree) and len(call.children) == 1 and call.data != "ident_arg":
            call = call.children[0]
        if isinstance(call, Tree) and call.data == "ident_arg" and str(call.children[0]) in _READS \
                and len(call.children) == 2 and len(call.children[1].children) == 1:
            arg = self.value(call.children[1].children[0], None)
            if isinstance(arg, str):
                return f"{str(arg)!r} is no {call.children[0]} ({_READS[str(call.children[0])]})"
        return _reason(error)

    def pattern(self, node: Tree) -> None:
        if not _constant(node):
            return
        p = self.value(node, f"the pattern of matches(), {self.source(node)},")
        if not isinstance(p, str):
            return  # (a pattern of another type: the type checker's error)
        quiet = re2.Options()
        quiet.log_errors = False  # (RE2 would also print the error to stderr)
        try:
            re2.compile(str(p), quiet)
        except re2.error as e:
            why = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
            lacks = next((f"; {h}" for k, h in _RE2_HINTS if k in why), "")
            self.fail(node, f"matches(): invalid regular expression {self.source(node)} (RE2 syntax: {why}{lacks})")

    def zone(self, node: Tree) -> None:
        if not _constant(node):
            return
        z = self.value(node, None)
        if not isinstance(z, str):
            return
        try:
            probe = _env().compile("timestamp('2000-01-01T00:00:00Z').getHours(z)")
            r = run_program(_env().program(probe, functions=SPEC_FUNCTIONS), {"z": z})
        except Exception as e:
            r = e
        if isinstance(r, Exception):
            self.fail(node, f"{self.source(node)} is no time zone CEL knows (an IANA name such as "
                            "'Europe/Paris', or an offset such as '+02:00'): the call fails at every evaluation")

    def divisor(self, node: Tree, sym: str) -> None:
        if _constant(node):
            v = self.value(node, None)
            if isinstance(v, int) and not isinstance(v, bool) and v == 0:
                self.fail(node, f"{sym} {self.source(node)}: an integer division by zero fails at every "
                                "evaluation (CEL: an error)")

    def index(self, node: Tree) -> None:
        v = self.value(node, None)
        if isinstance(v, int) and not isinstance(v, bool) and v < 0:
            self.fail(node, f"index {self.source(node)} is outside every list (indexes count from 0; the last "
                            "item of l is l[size(l) - 1]): it fails at every evaluation")

    # -- helpers
    def source(self, node: Tree) -> str:
        start, end = getattr(node.meta, "start_pos", None), getattr(node.meta, "end_pos", None)
        if start is None or end is None:
            return "a constant part"
        return self.text[start:end].strip()

    @staticmethod
    def fail(node: Tree, message: str) -> None:
        e = CelTypeError(message)
        e.offset = getattr(node.meta, "start_pos", None)
        raise e


def _constant(node: Any) -> bool:
    """True when the subtree reads no variable (``event``, ``customer``, a macro's bound name); CEL's type names
    (``string`` in ``type(x) == string``) are constants."""
    if isinstance(node, Token):
        return True
    if node.data == "ident":
        return str(node.children[0]) in TYPE_NAMES
    return all(_constant(c) for c in node.children)


def _plain_literal(node: Tree) -> bool:
    """A lone literal (``'abc'``, ``3``): it has its value (out-of-range numbers are the type checker's)."""
    while isinstance(node, Tree) and len(node.children) == 1 and node.data != "literal":
        node = node.children[0]
    return isinstance(node, Tree) and node.data == "literal"


def _reason(e: Exception) -> str:
    """The words of a cel-python error: its cause's message, without cel-python's type wrappers."""
    args = getattr(e, "args", ())
    cause = args[2] if len(args) >= 3 and isinstance(args[2], tuple) and args[2] else None
    words = str(cause[0]) if cause else str(args[0]) if args else type(e).__name__
    return _CEL_TYPE.sub(r"\1", words)
