"""After an identity merge the lifecycle stage and the CRM owner are the ones set last in event time (qa17f).

Before: the time zone followed that rule (``tz_at``), but the lifecycle stage and the owner were the *newer
profile's*: the one whose last event of any kind was later.  A device whose Segment ``identify`` set
``ownerId: owner-anon`` / ``lifecycle_stage: lead`` a month ago, and which browsed yesterday, merged by a login
into the CRM customer whose owner and stage the CRM set ten days ago: the escalation's follow-up task went to
``owner-anon`` and the customer was a ``lead`` again.  The same rule as the zone now holds for all three (a merge
is still commutative; without times, as in state stored before them, the newer profile's value as before).
"""
from __future__ import annotations

import marshal

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.state import CustomerState
from journeyflow.stages.state_codec import LAYOUT, decode_state, encode_state

from tests.stages.test_timezone_after_merge import D0, DAY, _state  # (the zone's own merge tests: same helpers)


def _device(identify_at: int, browsed: bool = True) -> CustomerState:
    identify = Event("track/i1", "track", "identify", identify_at, ("anon:d1",),
                     {"lifecycle_stage": "lead", "owner_id": "owner-anon"})
    if not browsed:
        return _state("anon:d1", identify)
    return _state("anon:d1", identify, Event("web/v1", "web", "page_view", D0 + 20 * 3_600_000, ("anon:d1",), {}))


def _crm(at: int) -> CustomerState:
    return _state("crm:C1", Event("crm/c", "crm", "contact_updated", at, ("crm:C1",),
                                  {"lifecycle_stage": "customer", "owner_id": "owner-crm"}))


def test_the_stage_and_owner_set_last_win_whichever_profile_saw_the_later_event():
    device, crm = _device(D0 - 30 * DAY), _crm(D0 - 10 * DAY)
    for merged in (device.merge(crm), crm.merge(device)):
        assert (merged.lifecycle, merged.owner_id) == ("customer", "owner-crm")
    # set later on the device: the device's values win, though the CRM profile's last event is later
    device, crm = _device(D0 - 5 * DAY), _crm(D0 - 10 * DAY)
    crm.apply(Event("orders/o1", "orders", "order_placed", D0 + DAY, ("crm:C1",), {"order_id": "O1"}))
    for merged in (device.merge(crm), crm.merge(device)):
        assert (merged.lifecycle, merged.owner_id) == ("lead", "owner-anon")


@pytest.mark.parametrize("field", ["lifecycle", "owner_id"])
def test_one_field_set_later_on_each_side(field):
    """Each field follows its own time: a CRM record that changed only the owner does not carry an older stage
    (the CRM profile's last event is the later one: before, it carried its 40-day-old value of the field)."""
    device = _device(D0 - 30 * DAY, browsed=False)
    other = "owner_id" if field == "lifecycle" else "lifecycle_stage"
    crm = _state("crm:C1", Event("crm/c", "crm", "contact_updated", D0 - 10 * DAY, ("crm:C1",),
                                 {other: "x-new"}))
    crm.apply(Event("crm/c0", "crm", "contact_created", D0 - 40 * DAY, ("crm:C1",),
                    {"lifecycle_stage": "old-stage", "owner_id": "old-owner"}))
    merged = device.merge(crm)
    assert getattr(merged, field) == {"lifecycle": "lead", "owner_id": "owner-anon"}[field]
    assert merged == crm.merge(device)


def test_without_times_the_newer_profile_keeps_its_values():
    a = CustomerState(customer_id="crm:A", lifecycle="lead", owner_id="o-a", last_event=D0)
    b = CustomerState(customer_id="anon:b", lifecycle="customer", owner_id="o-b", last_event=D0 + 1)
    assert a.merge(b).lifecycle == b.merge(a).lifecycle == "customer"
    assert a.merge(b).owner_id == b.merge(a).owner_id == "o-b"


def test_the_times_are_stored_and_a_state_stored_before_them_still_reads():
    s = _crm(D0)
    assert decode_state(encode_state(s)) == s
    assert CustomerState.from_bytes(s.to_bytes()) == s  # the JSON form (state transfers) keeps them
    old = encode_state(s)[:2] + marshal.dumps(tuple(getattr(s, f) for f in LAYOUT[:LAYOUT.index("account") + 1]), 4)
    back = decode_state(old)
    assert (back.lifecycle, back.owner_id) == ("customer", "owner-crm")


def test_a_deletion_erases_the_times_with_the_values():
    from journeyflow.stages.deletion import erase
    s = _crm(D0)
    erase(s)
    assert s.lifecycle is s.owner_id is s.lifecycle_at is s.owner_at is None
    assert CustomerState(customer_id=s.customer_id, ids=s.ids).merge(s).lifecycle is None
