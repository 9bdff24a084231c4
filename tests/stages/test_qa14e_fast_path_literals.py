"""QA round 14 (qa14e): the fast path and cel-python agree on string literals written any way CEL allows.

The property test of ``test_expr.py`` draws plain ASCII literals only; conditions over a data engineer's own events
hold Unicode text and patterns with escapes (``'^\\\\d{3}-'``, ``r'\\d+'``, ``'\\u00e9'``, ``'''...'''``), which now
run in the fast path (``conditions_fast`` reads them as cel-python does).  Drawn here: Unicode values (accents,
astral characters, quotes, backslashes, newlines, NUL, U+2028) and literals in every CEL spelling, under every
comparison, ``in``, the string methods and ``size()``."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from journeyflow.stages.conditions import JourneyError, compile_condition

compile_condition("true", "warm-up")  # (cel-python's environment raises the recursion limit: outside hypothesis)
CHARS = ["a", "b", "Z", "é", "😀", "ｚ", "'", '"', "\\", "\n", "\t", "\x00", "\u2028", " ", "1"]
texts = st.lists(st.sampled_from(CHARS), max_size=4).map("".join)


@st.composite
def literals(draw, text):
    """``text`` as a CEL string literal: each character as itself or as an escape, in either quote; or raw."""
    if draw(st.booleans()) and not any(c in text for c in "'\\\n\r"):
        return "r'" + text + "'"
    out = []
    for ch in text:
        ways = [ch] if ch not in "\\'\"\n\r\t" else []
        ways += {"\\": ["\\\\"], "'": ["\\'"], '"': ['\\"'], "\n": ["\\n"], "\t": ["\\t"]}.get(ch, [])
        o = ord(ch)
        if o < 128:
            ways += ["\\x%02x" % o, "\\%03o" % o]
        if o < 0x10000:
            ways.append("\\u%04x" % o)
        ways.append("\\U%08x" % o)
        out.append(draw(st.sampled_from(ways)))
    return "'" + "".join(out) + "'"


@st.composite
def conditions(draw):
    lit = draw(texts.flatmap(literals))
    shape = draw(st.sampled_from(["event.s {op} {lit}", "{lit} {op} event.s", "event.s.startsWith({lit})",
                                  "event.s.endsWith({lit})", "event.s.contains({lit})", "event.s in [{lit}, 'x']",
                                  "size({lit}) == size(event.s)", "event.s + {lit} == {lit} + event.s",
                                  "event.m[{lit}] == 1"]))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    return shape.format(op=op, lit=lit)


@settings(max_examples=300, deadline=None)
@given(conditions(), texts)
def test_the_fast_path_agrees_with_cel_python_on_unicode_and_escaped_literals(text, value):
    try:
        c = compile_condition(text, "t")
    except JourneyError:
        return
    act = {"event": {"s": value, "m": {value: 1}}, "customer": {}}
    assert c.is_fast, text
    got = c.evaluate(act)
    assert got == c.evaluate_slow(act), (text, value)
