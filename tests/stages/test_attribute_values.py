"""QA (issue 19, computed attributes): undeclared (dyn) properties with values of mixed types, CEL's equality in
distinct_count (``1 == 1.0``, ``true != 1``) alone and across identity merges, non-finite numbers, and one limit on
event names."""
from __future__ import annotations

import json
import textwrap
from importlib import resources

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes import merge_computed
from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.declarations import MAX_EVENT_NAME
from journeyflow.stages.state import CustomerState

DAY = 86_400_000
ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    attributes:
      total: {op: sum, event: Thing, stream: track, property: properties.x}
      total_7d: {op: sum, event: Thing, stream: track, property: properties.x, window: 7d}
      low: {op: min, event: Thing, stream: track, property: properties.x}
      high_7d: {op: max, event: Thing, stream: track, property: properties.x, window: 7d}
      kinds: {op: distinct_count, event: Thing, stream: track, property: properties.x}
      kinds_7d: {op: distinct_count, event: Thing, stream: track, property: properties.x, window: 7d}
      things: {op: count, event: Thing, stream: track}
    """), "a.yaml")


def _thing(i: int, x, ts: int = DAY) -> Event:
    return Event(f"track/t{i}", "track", "Thing", ts, ("crm:u",), {"properties": {"x": x}})


def _fold(values, ts: int = DAY) -> dict:
    s = CustomerState()
    for i, x in enumerate(values):
        ATTRS.observe(s, _thing(i, x, ts))
    return s.computed


def test_a_string_among_numbers_of_an_undeclared_property_is_skipped_not_a_crash():
    """A Segment property nobody declared (``dyn``) is a number in most events and a string in one
    (``"x": "n/a"``): the sum/min/max raised TypeError (int + str, str < int), which made the valid event a
    ``processing_error`` dead letter.  Numbers are folded, the string skipped, the event still counted."""
    s = CustomerState()
    for i, x in enumerate([3, "n/a", 2.5, True, None]):
        ATTRS.observe(s, _thing(i, x))
    v = ATTRS.values(s, DAY)
    assert v["total"] == 5.5 and v["total_7d"] == 5.5  # a bool is not a number either (true + 1 has no overload)
    assert v["low"] == 2.5 and v["high_7d"] == 3
    assert v["things"] == 5


def test_distinct_count_uses_cels_equality_in_every_form():
    # 1 and 1.0 are one value (CEL: 1 == 1.0); true and 1 are two (CEL: a bool is no number)
    for values, expected in (([1, 1.0], 1), ([1, True], 2), ([True, 1, 1.0, "1"], 3)):
        s = CustomerState()
        for i, x in enumerate(values):
            ATTRS.observe(s, _thing(i, x))
        v = ATTRS.values(s, DAY)
        assert (v["kinds"], v["kinds_7d"]) == (expected, expected), values


def test_a_merge_of_two_profiles_counts_distinct_values_as_one_profile_does():
    """Profile A saw x=1, profile B x=1.0: merged, that is one distinct value (as both events on one profile)."""
    one = _fold([1, 1.0])
    merged = merge_computed(_fold([1]), _fold([1.0]))
    assert merged == merge_computed(_fold([1.0]), _fold([1]))  # commutative
    s = CustomerState()
    s.computed = merged
    t = CustomerState()
    t.computed = one
    assert ATTRS.values(s, DAY)["kinds"] == ATTRS.values(t, DAY)["kinds"] == 1
    assert ATTRS.values(s, DAY)["kinds_7d"] == 1


def test_non_finite_numbers_are_not_folded():
    v = ATTRS.values(_state([float("nan"), 2, float("inf")]), DAY)
    assert v["total"] == 2 and v["low"] == 2 and v["high_7d"] == 2 and v["kinds"] == 1


def _state(values) -> CustomerState:
    s = CustomerState()
    for i, x in enumerate(values):
        ATTRS.observe(s, _thing(i, x))
    return s


def test_an_attributes_event_name_has_the_limit_of_journey_and_declared_event_names():
    schema = json.loads(resources.files("journeyflow.schemas").joinpath("journey.schema.json").read_text())
    assert schema["$defs"]["event_name"]["maxLength"] == MAX_EVENT_NAME
    ok = "E" * MAX_EVENT_NAME
    load_attributes_text(f"attributes:\n  n: {{op: count, event: '{ok}', stream: track}}\n", "a.yaml")
    with pytest.raises(AttributesError) as e:
        load_attributes_text(f"attributes:\n  n: {{op: count, event: '{ok}X', stream: track}}\n", "a.yaml")
    assert "a.yaml:2: attributes.n.event: an event name is a string of 1-128 characters" in str(e.value)
    with pytest.raises(AttributesError):
        load_attributes_text(f"events:\n  '{ok}X': {{}}\n", "a.yaml")


# ------------------------------------------------------------------------------------ one profile == two merged
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MERGE_ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    events:
      Paid: {properties: {v: int, tag: string}}
    attributes:
      n_3d: {op: count, event: Paid, window: 3d}
      sum_3d: {op: sum, event: Paid, property: properties.v, window: 3d}
      sum_all: {op: sum, event: Paid, property: properties.v}
      first_3d: {op: first, event: Paid, property: properties.tag, window: 3d}
      last_3d: {op: last, event: Paid, property: properties.tag, window: 3d}
      first_all: {op: first, event: Paid, property: properties.tag}
      last_all: {op: last, event: Paid, property: properties.tag}
      min_3d: {op: min, event: Paid, property: properties.tag, window: 3d}
      tags_3d: {op: distinct_count, event: Paid, property: properties.tag, window: 3d}
      tags_all: {op: distinct_count, event: Paid, property: properties.tag}
    """), "m.yaml")

_events = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3), st.sampled_from("abc"), st.booleans()),
                   min_size=1, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_events)
def test_one_profile_and_two_merged_profiles_have_the_same_attributes(events):
    """The same events, on one profile or split over two profiles merged later (an identity link), give the same
    computed values -- also when events share a millisecond (two equal orders at one time are two orders; ``first``
    and ``last`` of a tie do not depend on which profile held which event)."""
    evs = [Event(f"track/e{i:02d}", "track", "Paid", day * DAY // 2, ("crm:u",), {"properties": {"v": v, "tag": t}})
           for i, (day, v, t, _side) in enumerate(events)]
    order = sorted(range(len(evs)), key=lambda i: evs[i].sort_key)
    one, a, b = CustomerState(), CustomerState(), CustomerState()
    for i in order:
        MERGE_ATTRS.observe(one, evs[i])
        MERGE_ATTRS.observe(a if events[i][3] else b, evs[i])
    merged = CustomerState()
    merged.computed = merge_computed(a.computed, b.computed)
    now = max(e.ts for e in evs)
    assert MERGE_ATTRS.values(merged, now) == MERGE_ATTRS.values(one, now)


def test_two_trait_updates_in_one_millisecond_give_the_merges_answer_whatever_their_order():
    """identify(plan=pro) and identify(plan=basic) in one ms: the fold kept whichever came last (by message id), an
    identity merge of the two keeps the larger value; now both keep the same."""
    from journeyflow.stages.state_merge import merge_states
    attrs = load_attributes_text("traits: {plan: string}\n", "t.yaml")
    evs = [Event(f"track/{u}", "track", "identify", DAY, ("crm:u",), {"traits": {"plan": p}})
           for u, p in (("a", "pro"), ("b", "basic"))]
    one, two = CustomerState(), CustomerState()
    for e in evs:
        attrs.observe(one, e)
    for e in reversed(evs):
        attrs.observe(two, e)
    x, y = CustomerState(customer_id="crm:u"), CustomerState(customer_id="crm:v")
    attrs.observe(x, evs[0])
    attrs.observe(y, evs[1])
    merged = merge_states(x, y)
    assert attrs.values(one, DAY) == attrs.values(two, DAY) == attrs.values(merged, DAY) == {"plan": "pro"}
