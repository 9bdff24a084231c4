"""QA round 14 (qa14e): ``int()``, ``uint()``, ``double()`` and ``bool()`` of a string read what Python reads.

cel-python converts a string with Python's ``int()`` / ``float()``, which take surrounding spaces, ``_`` between
digits and any Unicode digit: ``int(event.properties.zip) > 50000`` was true for ``' 94107'``, ``'94_107'`` and
full-width ``'９４１０７'``, ``uint('-0')`` was 0 and ``int('0x10')`` 16, where CEL (cel-spec langdef "Type
conversions"; cel-go's ``strconv`` parsing) has an error: a condition that held in journeyflow failed everywhere else
the same CEL runs.  ``bool()`` took ``'t'`` but not ``'T'``, ``'01'`` and ``' 1'`` (as ints).  The conversions now read
the text as CEL does (``stages.conditions_spec``): base-10 ASCII digits with an optional sign (``uint``: none), a
decimal or exponent number or ``inf``/``infinity``/``nan`` for a double, and Go's boolean words."""
from __future__ import annotations

import pytest

from journeyflow.stages.conditions import compile_condition


def _value(text: str, s: str):
    """``(ok, result)`` of condition ``text`` over ``event.s = s``: ok is False when it was an error."""
    c = compile_condition(text, "t")
    r = c.evaluate({"event": {"s": s}, "customer": {}})
    return c.errors == 0, r


@pytest.mark.parametrize("s", [" 12", "12 ", "1_000", "１２", "٣", "0x10", "1.0", "", "+", "12a"])
def test_an_int_is_base_10_ascii_digits(s):
    assert _value("int(event.s) >= 0 || int(event.s) < 0", s) == (False, False), s


@pytest.mark.parametrize("s, n", [("12", 12), ("+5", 5), ("-0", 0), ("-9223372036854775808", -(2 ** 63)),
                                  ("007", 7)])
def test_valid_ints_still_read(s, n):
    assert _value(f"int(event.s) == {n}" if n > -(2 ** 63) else "int(event.s) < -9223372036854775807", s) == (True, True)


@pytest.mark.parametrize("s", ["-0", "+5", " 5", "5_0", "５"])
def test_a_uint_has_no_sign(s):
    assert _value("uint(event.s) >= 0u", s) == (False, False), s


@pytest.mark.parametrize("s", [" 1.5", "1_0.5", "１.５", "0x1p3", "1.5.1", "e3", ""])
def test_a_double_is_a_decimal_number(s):
    assert _value("double(event.s) >= 0.0 || double(event.s) < 0.0", s) == (False, False), s


@pytest.mark.parametrize("s, expected", [("1.5", "1.5"), ("-2e3", "-2000.0"), (".5", "0.5"), ("5.", "5.0"),
                                         ("+1E-2", "0.01")])
def test_valid_doubles_still_read(s, expected):
    assert _value(f"double(event.s) == {expected}", s) == (True, True)


@pytest.mark.parametrize("s", ["inf", "Infinity", "-INF", "NaN"])
def test_infinities_and_nan_read_as_go_reads_them(s):
    ok, _ = _value("double(event.s) == double(event.s)", s)
    assert ok


@pytest.mark.parametrize("s, expected", [("true", True), ("True", True), ("TRUE", True), ("t", True), ("T", True),
                                         ("1", True), ("false", False), ("False", False), ("FALSE", False),
                                         ("f", False), ("F", False), ("0", False)])
def test_bool_reads_gos_words(s, expected):
    assert _value("bool(event.s)", s) == (True, expected)


@pytest.mark.parametrize("s", [" true", "01", "yes", "tRue", "2", ""])
def test_other_words_are_no_bool(s):
    assert _value("bool(event.s) || !bool(event.s)", s) == (False, False), s
