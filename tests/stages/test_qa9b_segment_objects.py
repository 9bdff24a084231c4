"""qa9b: Segment ``properties`` / ``traits`` / ``context`` / ``context.traits`` that are not objects.

They are optional parts of a message: one that is a string, a list or a number made the whole message a
``schema_violation`` dead letter (``properties``, identify/group ``traits``), so an identify written by a buggy SDK
lost its user-id link.  The standard: the message is kept, the bad part dropped and reported as a field warning."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.fields import is_warning_field
from journeyflow.stages.identity.rules import event_links
from tests.stages.test_input_edge_cases import GOOD, P

NOT_OBJECTS = ["x", [1, 2], 3, 1.5, True]


def full(msg):
    res = P.parse_full("track", json.dumps(msg).encode(), "t:1")
    return res.result, res.warnings


@pytest.mark.parametrize("value", NOT_OBJECTS)
@pytest.mark.parametrize("call, field", [
    ("track", "properties"), ("page", "properties"), ("screen", "properties"),
    ("identify", "traits"), ("group", "traits"),
    ("track", "context"), ("identify", "context"), ("track", "context.traits"), ("identify", "context.traits")])
def test_a_part_that_is_no_object_is_dropped_with_a_warning_and_the_message_kept(call, field, value):
    msg = {**GOOD["track"], "type": call, "userId": "u-1"}
    if call == "group":
        msg["groupId"] = "acme"
    if field == "context.traits":
        msg["context"] = {"traits": value, "locale": "en-GB"}
    else:
        msg[field] = value
    ev, warnings = full(msg)
    assert isinstance(ev, Event), ev
    assert set(ev.ids) == {"crm:u-1", "anon:dev-1"}
    assert [(w.field, w.reason, w.action) for w in warnings] == [(field, "wrong_type", "dropped")]
    assert all(is_warning_field("track", w.field) for w in warnings)
    kept = {"properties": "properties", "traits": "traits"}.get(field)
    assert kept is None or kept not in ev.attrs


@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_an_identify_whose_traits_are_no_object_still_links_its_ids(value):
    """The identify's link of user id and device (and the address in context.traits) is its whole purpose."""
    msg = {**GOOD["track"], "type": "identify", "userId": "u-2", "traits": value,
           "context": {"traits": {"email": "ann@example.com"}}}
    ev, _warnings = full(msg)
    assert isinstance(ev, Event), ev
    assert ev.type == "identify" and {"crm:u-2", "anon:dev-1"} <= set(ev.ids) and len(ev.ids) == 3
    assert event_links(ev), "an identify links its ids"


def test_a_mapped_event_with_a_bad_properties_reads_the_message_without_it():
    """A mapped event (Order Completed -> orders) whose properties are a string: the required order_id is not there,
    so the message is the mapping's schema_violation naming order_id -- not a warning about a path inside a
    string; an unmapped one is kept."""
    msg = {**GOOD["track"], "event": "Order Completed", "properties": "order_id=1"}
    ev, _w = full(msg)
    assert not isinstance(ev, Event) and ev.reason == "schema_violation" and "order_id" in ev.detail
    ev, warnings = full({**GOOD["track"], "event": "Product Viewed", "properties": "sku=1"})
    assert isinstance(ev, Event) and [w.field for w in warnings] == ["properties"]
