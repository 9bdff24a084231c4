"""QA round 14 (qa14e): ``int()``, ``uint()``, ``double()`` and ``bool()`` of a string read what Python reads.

cel-python converts a string with Python's ``int()`` / ``float()``, which take surrounding spaces, ``_`` between
digits and any Unicode digit: ``int(event.properties.zip) > 50000`` was true for ``' 94107'``, ``'94_107'`` and
full-width ``'９４１０７'``, ``uint('-0')`` was 0 and ``int('0x10')`` 16, where CEL (cel-spec langdef "Type
conversions"; cel-go's ``strconv`` parsing) has an error: a condition that held in journeyflow failed everywhere else
the same CEL runs.  ``bool()`` took ``'t'`` but not ``'T'``, ``'01'`` and ``' 1'`` (as ints).  The conversions now read
the text as CEL does (``stages.conditions_spec``): base-10 ASCII digits with an optional sign (``uint``: none), a
decimal or exponent number or ``inf``/``infinity``/``nan`` for a double, and Go's boolean words.  The same kind:
``timestamp()`` took a date alone or a time without its zone (read as UTC: hours off for a local time), a space for
the ``T``, ``+0200``; ``duration()`` took ``'1d'`` (no unit of CEL's) and refused Go's ``'0'``.  A constant argument
so written is now a load error (``stages.conditions_constants``)."""
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
    text = f"int(event.s) == {n}" if n > -(2 ** 63) else "int(event.s) < -9223372036854775807"
    assert _value(text, s) == (True, True)


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


@pytest.mark.parametrize("s", ["2026-01-01", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00+0200",
                               "20260101T000000Z"])
def test_a_timestamp_is_rfc_3339_with_its_zone(s):
    assert _value("timestamp(event.s) > timestamp('2000-01-01T00:00:00Z')", s) == (False, False), s


@pytest.mark.parametrize("s", ["2026-01-01T00:00:00Z", "2026-01-01T02:00:00+02:00", "2026-01-01T00:00:00.5Z"])
def test_rfc_3339_times_still_read(s):
    assert _value("timestamp(event.s) >= timestamp('2026-01-01T00:00:00Z')", s) == (True, True), s


@pytest.mark.parametrize("s, ok", [("1d", False), ("1 h", False), ("1H", False), ("90", False), ("0", True),
                                   ("1h30m", True), ("-1.5h", True), ("250ms", True), (".5s", True)])
def test_a_duration_is_gos(s, ok):
    assert _value("duration(event.s) >= duration('0s') || duration(event.s) < duration('0s')", s) == (ok, ok), s


@pytest.mark.parametrize("text, words", [("duration('7d') > duration('1h')", "'7d' is no duration"),
                                         ("timestamp('2026-01-01') < timestamp('2026-02-01T00:00:00Z')",
                                          "'2026-01-01' is no timestamp (an RFC 3339 time with its zone"),
                                         ("bool('T') && bool('yes')", "'yes' is no bool")])
def test_a_constant_so_written_is_refused_at_load(text, words):
    from journeyflow.stages.attributes_loader import load_attributes_text
    from journeyflow.stages.conditions import JourneyError
    decl = load_attributes_text("version: 1\n", "a.yaml").declarations
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "j.yaml:1: when", decl.variables(decl.event_type("login", None)))
    assert words in str(e.value), str(e.value)
