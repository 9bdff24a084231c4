"""QA round 14 (qa14e): a trait cleared (``null``) and set in the same millisecond.

The order of two messages of one millisecond is not known (and a merge of two profiles must give one answer
whichever is merged into which), so the latest-wins rule broke the tie by the larger ``repr`` of the value: the
clear (``repr(None)``, 'None') beat every string and number, but lost to ``True`` ('True' > 'None') -- a ``vip``
trait cleared and set to true in one millisecond stayed true, cleared when set to false.  The tie now goes to the
clear for every type (an uncertain value is no value: ``has()`` is false, nothing is sent on it), on one profile in
either order and across an identity merge (``stages.attributes_expiry.trait_order``, also used by
``state_merge``)."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.state import CustomerState

ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    traits: {vip: bool, plan: string, seats: int, score: double, renews_at: timestamp}
    """), "attributes.yaml")
TS = 1_767_225_600_000


def _identify(i: int, ts: int, traits: dict) -> Event:
    return Event(f"track/i{i}", "track", "identify", ts, ("crm:u",), {"traits": traits})


@pytest.mark.parametrize("name, value", [("vip", True), ("vip", False), ("plan", "pro"), ("seats", 3),
                                         ("score", 2.5), ("renews_at", TS)])
@pytest.mark.parametrize("clear_first", [True, False])
def test_a_clear_and_a_value_in_one_millisecond_leave_the_trait_cleared(name, value, clear_first):
    s = CustomerState()
    ATTRS.observe(s, _identify(0, TS - 1, {name: value}))  # (an earlier value: the clear must not bring it back)
    msgs = [_identify(1, TS, {name: None}), _identify(2, TS, {name: value})]
    for ev in (msgs if clear_first else msgs[::-1]):
        ATTRS.observe(s, ev)
    assert name not in ATTRS.values(s, TS), (name, value)
    # the same two messages on two profiles, merged either way
    a, b = CustomerState(customer_id="a"), CustomerState(customer_id="b")
    ATTRS.observe(a, msgs[0])
    ATTRS.observe(b, msgs[1])
    for m in (a.merge(b), b.merge(a)):
        assert name not in ATTRS.values(m, TS), (name, value)
    # a later value is the value again
    ATTRS.observe(s, _identify(3, TS + 1, {name: value}))
    assert ATTRS.values(s, TS + 1)[name] == value


@pytest.mark.parametrize("key, first, second", [("vip", True, False), ("plan", "pro", "basic"), ("seats", 1, 2)])
def test_two_values_in_one_millisecond_still_give_one_answer_in_any_order(key, first, second):
    x, y = CustomerState(), CustomerState()
    for s, order in ((x, (first, second)), (y, (second, first))):
        for i, v in enumerate(order):
            ATTRS.observe(s, _identify(i, TS, {key: v}))
    assert ATTRS.values(x, TS)[key] == ATTRS.values(y, TS)[key]
