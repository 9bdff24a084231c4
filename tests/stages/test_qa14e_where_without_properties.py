"""QA round 14 (qa14e): a computed attribute's ``where`` on an event sent without properties.

A Segment ``track`` call without ``properties`` (or whose declared properties were all dropped: a ``null``, a value
of another type) has no ``properties`` at all.  The journeys' conditions see ``event.properties`` as an empty map
then (``journeys.context``), but a computed attribute's ``where`` saw the event as it came: ``!has(event.properties
.coupon)`` was an error (``has()`` of a field of a missing map), so "coupon checks without a coupon" never counted the
coupon checks sent without any property -- and each was a counted condition error.  The ``where`` now sees the event as
the journeys' conditions do."""
from __future__ import annotations

import textwrap

from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.state import CustomerState

ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    events:
      Coupon Checked:
        properties: {coupon: string, total: double}
    attributes:
      without_coupon: {op: count, event: Coupon Checked, where: "!has(event.properties.coupon)"}
      without_coupon_7d: {op: count, event: Coupon Checked, window: 7d, where: "!has(event.properties.coupon)"}
      with_coupon: {op: count, event: Coupon Checked, where: "has(event.properties.coupon)"}
    """), "attributes.yaml")


def test_an_event_without_properties_is_one_without_the_property():
    s = CustomerState()
    sent = [{"properties": {"coupon": "SAVE10"}}, {"properties": {"total": 20.0}}, {}, {"properties": {}}]
    for i, attrs in enumerate(sent):
        ATTRS.observe(s, Event(f"track/c{i}", "track", "Coupon Checked", 1000 + i, ("crm:u",), attrs))
    where = ATTRS.by_name["without_coupon"].where
    assert where.errors == 0, "an event without properties made the where fail"
    assert ATTRS.values(s, 2000) == {"without_coupon": 3, "without_coupon_7d": 3, "with_coupon": 1}
