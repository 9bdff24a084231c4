"""The streaming stage's stored state form (journeyflow.stages.state_codec): exact round trip, the JSON forms of
earlier builds still read (Dataflow --update), older STATE_VERSION upgraded, foreign bytes rejected."""
from __future__ import annotations

import marshal

import pytest

from journeyflow.model.events import Event, encode_event
from journeyflow.stages import state_codec
from journeyflow.stages.state import STATE_VERSION, CustomerState
from journeyflow.transforms.decide_streaming import _EVENTS, decode_buffered

T = 1_790_000_000_000


def busy_state() -> CustomerState:
    s = CustomerState(customer_id="crm:C1")
    events = [
        Event("crm/1", "crm", "contact_created", T, ("crm:C1", "email:abc"), {"timezone": "Europe/Paris",
                                                                              "lifecycle_stage": "lead"}, {}),
        Event("consent/1", "consent", "consent_granted", T + 1, ("crm:C1",), {"channel": "email"}, {}),
        Event("web/1", "web", "product_view", T + 2, ("crm:C1",), {"product_id": "SKU-1"}, {}),
        Event("web/2", "web", "add_to_cart", T + 3, ("crm:C1",), {"product_id": "SKU-2"}, {}),
        Event("orders/1", "orders", "order_placed", T + 4, ("crm:C1",),
              {"order_id": "O1", "amount": 12.5, "product_ids": ["SKU-1"]}, {}),
        Event("support/1", "support", "ticket_opened", T + 5, ("crm:C1",), {"ticket_id": "K1", "severity": "high"},
              {}),
    ]
    for ev in events:
        s.is_duplicate(ev)
        s.apply(ev)
    s.record_send(T + 6, "email", "promo", "c-1")
    s.schedule(T + 3_600_000, "t1", "wait", {"journey": "j", "n": 1})
    s.journeys["j"] = {"step": "s1", "entries": [T], "n": 1}
    s.computed["spend_30d"] = {"w": [[T + 4, 12.5]]}
    return s


def test_round_trip_is_exact_and_faster_form_is_read_by_from_bytes():
    s = busy_state()
    b = state_codec.encode_state(s)
    assert b[:2] == b"M" + bytes([STATE_VERSION])
    assert state_codec.decode_state(b) == s
    assert CustomerState.from_bytes(b) == s  # the processor's restore point reads it too
    # equal to the JSON round trip for a state built from JSON-shaped values
    assert state_codec.decode_state(b) == CustomerState.from_bytes(s.to_bytes())


def test_json_forms_of_earlier_builds_are_read():
    s = busy_state()
    small = CustomerState(customer_id="anon:1", ids=["anon:1"], first_seen=T, last_event=T)
    assert small.to_bytes()[:1] == b"J"
    assert s.to_bytes()[:1] != b"J"  # zlib-compressed JSON
    for st in (s, small):
        assert state_codec.decode_state(st.to_bytes()) == CustomerState.from_bytes(st.to_bytes())


def test_older_state_version_goes_through_the_upgrade_and_unknown_is_refused():
    s = busy_state()
    values = tuple(getattr(s, f) for f in state_codec.LAYOUT)
    v1 = b"M" + bytes([1]) + marshal.dumps(values, 4)
    assert state_codec.decode_state(v1).customer_id == "crm:C1"  # from_dict(v=1) upgrade path
    with pytest.raises(ValueError, match="unsupported customer state version"):
        state_codec.decode_state(b"M" + bytes([STATE_VERSION + 1]) + marshal.dumps(values, 4))
    with pytest.raises(ValueError, match="not a stored customer state"):
        state_codec.decode_state(b"M" + bytes([STATE_VERSION]) + marshal.dumps((1, 2), 4))


def test_layout_is_a_prefix_of_the_state_fields():
    # appending a field to CustomerState is fine; reordering the stored layout would misread stored state
    assert tuple(CustomerState._FIELDS)[:len(state_codec.LAYOUT)] == state_codec.LAYOUT


def test_buffered_events_both_forms():
    ev = Event("web/9", "web", "product_view", T, ("crm:C1",), {"product_id": "SKU-9", "b": 1, "a": [1, 2]},
               {"email": "x@example.com"})
    stored = _EVENTS.encode(ev)
    assert stored[:1] != b"["
    assert decode_buffered(stored) == ev
    assert decode_buffered(encode_event(ev)) == ev  # an earlier build's buffer
