"""Conditions over values of a data engineer's own events that CEL's ``int`` cannot hold (qa12c): an undeclared
property (or a computed sum) beyond 64 bits is the JSON number it is, a ``double`` (cel-spec langdef, "JSON Data
Conversion": Number -> double), on both evaluation paths; before, cel-python refused the whole activation, so one
such value made every slow-path condition of the event fail (false, counted), and the fast path disagreed."""
from __future__ import annotations

import pytest

from journeyflow.stages.conditions import compile_condition, take_counts

BIG = 2 ** 70


def _activation(**props):
    return {"event": {"stream": "track", "type": "Plan Upgraded", "ts": 1_790_848_800_000,
                      "properties": {"plan": "pro", **props}},
            "customer": {"traits": {"lifetime_points": 2 ** 64, "plan": "pro"}}}


@pytest.mark.parametrize("text", [
    "event.properties.plan.matches('^pro')",
    "event.properties.plan + '-x' == 'pro-x'",
    "size(event.properties) == 3 && event.properties.plan == 'pro'",
    "customer.traits.plan.startsWith('p') && event.ts - 1 > 0",
])
def test_a_huge_number_elsewhere_does_not_fail_a_condition_on_other_fields(text):
    _both_paths_give(text, True)


def _both_paths_give(text: str, expected: bool) -> None:
    """The fast and the cel-python path both give ``expected`` for ``text`` on an event holding numbers beyond 64
    bits, without a condition error."""
    c = compile_condition(text, "j.yaml:3")
    take_counts()
    act = _activation(external_id=BIG, points=10 ** 400)
    assert c.evaluate(act) is expected and c.evaluate_slow(act) is expected
    assert take_counts()["errors"] == 0


@pytest.mark.parametrize("text, expected", [
    ("event.properties.external_id > 1", True),
    ("event.properties.external_id > 1.0e21", True),
    ("event.properties.external_id == 1180591620717411303424.0", True),
    ("event.properties.external_id in [1, 2]", False),
    ("event.properties.external_id < 9223372036854775807", False),
    ("customer.traits.lifetime_points > 1000", True),
    ("customer.traits.lifetime_points in [18446744073709551615u]", False),
    ("event.properties.points > 1.0", True),
])
def test_a_number_beyond_64_bits_reads_as_a_double_on_both_paths(text, expected):
    _both_paths_give(text, expected)


@pytest.mark.parametrize("text, value, expected", [
    ("type(event.properties.coupon) == string", "SAVE10", True),
    ("type(event.properties.coupon) == string", 10, False),
    ("type(event.properties.coupon) == int", 10, True),
    ("type(event.properties.coupon) == double", 10.5, True),
    ("type(event.properties.coupon) == bool", True, True),
    ("type(event.properties.coupon) == list", ["a"], True),
    ("type(event.properties.coupon) == map", {"a": 1}, True),
    ("type(event.properties.coupon) != null_type", None, False),
    ("type(event.properties.coupon) == string && string(event.properties.coupon) == 'SAVE10'", "SAVE10", True),
])
def test_a_type_test_on_an_undeclared_property_loads_and_evaluates(text, value, expected):
    """cel-spec langdef "Type Values": ``type(x) == string``.  Before, the type names were 'unknown variables' at
    load, and cel-python's evaluation compared with the overridden ``string``/``double`` functions (always false)."""
    c = compile_condition(text, "j.yaml:3", None)
    act = _activation(coupon=value)
    assert c.evaluate(act) is expected and c.evaluate_slow(act) is expected
