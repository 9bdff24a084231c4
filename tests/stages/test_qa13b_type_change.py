"""An attributes file whose next version changes a declared type (``tier: int`` then ``tier: string``; a trait
``seats: int`` then ``seats: string``) meets state kept under the old one: a streaming job updated in place, an
identity merge with an older profile (qa13b hunt).  Before, the next event's all-time ``max`` compared a string with
the kept int and raised (the event a ``processing_error`` dead letter, its journeys lost), a windowed ``max`` of
mixed values raised on every read, and a kept trait was handed to conditions under a type it no longer has.  Now a
value kept under another declared type is no value of the new one (absent, ``has()`` false; the new one replaces
it) and a merge of two such profiles does not raise (``stages.attributes``)."""
from __future__ import annotations

import textwrap

from journeyflow.model.events import Event
from journeyflow.stages.attributes import TraitsView, merge_computed
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.state import CustomerState

DAY = 86_400_000
T0 = 1_790_000_000_000


def _file(tier: str, seats: str) -> object:
    return load_attributes_text(textwrap.dedent(f"""\
        version: 1
        events:
          Plan Changed:
            properties: {{tier: {tier}}}
        traits: {{seats: {seats}}}
        attributes:
          top_tier: {{op: max, event: Plan Changed, property: properties.tier}}
          top_tier_7d: {{op: max, event: Plan Changed, property: properties.tier, window: 7d}}
          last_tier_7d: {{op: last, event: Plan Changed, property: properties.tier, window: 7d}}
          first_tier: {{op: first, event: Plan Changed, property: properties.tier}}
        """), "attributes.yaml")


def _event(i: int, ts: int, tier, seats=None) -> Event:
    attrs = {"properties": {"tier": tier}}
    if seats is not None:
        attrs["traits"] = {"seats": seats}
    return Event(f"track/e{i}", "track", "Plan Changed", ts, ("crm:u",), attrs)


def _observe(attrs, state: CustomerState, ev: Event) -> None:
    state.apply(ev)
    attrs.observe(state, ev)


def test_a_changed_property_type_meets_the_kept_values():
    v1, v2 = _file("int", "int"), _file("string", "string")
    s = CustomerState()
    _observe(v1, s, _event(1, T0, 3, seats=12))
    _observe(v2, s, _event(2, T0 + DAY, "gold"))  # raised TypeError (str > int) before
    view = TraitsView(v2, s, T0 + DAY)
    assert view["top_tier"] == "gold" and view["top_tier_7d"] == "gold" and view["last_tier_7d"] == "gold"
    assert "first_tier" not in view  # the first value was an int: no first value of the string property is known
    assert "seats" not in view  # kept as an int, now declared a string: absent until an identify sends one
    assert "seats" not in v2.values(s, T0 + DAY) and v2.values(s, T0 + DAY)["top_tier"] == "gold"
    _observe(v2, s, _event(3, T0 + 2 * DAY, "basic", seats="12"))
    view = TraitsView(v2, s, T0 + 2 * DAY)
    assert view["seats"] == "12" and view["top_tier"] == "gold" and view["last_tier_7d"] == "basic"


def test_a_kept_int_read_as_a_double_is_a_double():
    v1, v2 = _file("int", "int"), _file("double", "double")
    s = CustomerState()
    _observe(v1, s, _event(1, T0, 3, seats=12))
    view = TraitsView(v2, s, T0)
    assert view["seats"] == 12.0 and type(view["seats"]) is float and type(view["top_tier"]) is float


def test_merging_profiles_kept_under_two_types_does_not_raise():
    a = {"top_tier": {"max": 3}, "low": {"min": 2}}
    b = {"top_tier": {"max": "gold"}, "low": {"min": "basic"}}
    assert merge_computed(a, b) == merge_computed(b, a)
