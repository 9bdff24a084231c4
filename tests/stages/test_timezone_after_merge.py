"""After an identity merge the customer's time zone is the one set last in event time (quiet hours follow it).

Before: the zone of the profile whose *last event* was later won.  A device's Segment ``identify`` (Europe/Berlin,
a month ago) merged by a login into the CRM customer (America/Los_Angeles, set ten days ago) gave Berlin, because
the device had just put a product in the cart: the reminder was deferred to 08:00 Berlin = 23:00 Los Angeles.
"""
from __future__ import annotations

from journeyflow.model.events import Event
from journeyflow.stages.state import CustomerState
from journeyflow.stages.state_codec import LAYOUT, decode_state, encode_state
from journeyflow.stages.parse import parse_ts

D0 = parse_ts("2026-10-05T00:00:00+00:00")
DAY = 86_400_000


def _state(cid: str, *events: Event) -> CustomerState:
    s = CustomerState(customer_id=cid)
    for ev in events:
        s.apply(ev)
    return s


def test_the_zone_set_last_wins_whichever_profile_saw_the_later_event():
    device = _state("anon:d1",
                    Event("track/i1", "track", "identify", D0 - 30 * DAY, ("anon:d1",), {"timezone": "Europe/Berlin"}),
                    Event("web/c1", "web", "add_to_cart", D0 + 20 * 3_600_000, ("anon:d1",), {"product_id": "P1"}))
    crm = _state("crm:C1", Event("crm/c", "crm", "contact_created", D0 - 10 * DAY, ("crm:C1",),
                                 {"timezone": "America/Los_Angeles"}))
    for merged in (device.merge(crm), crm.merge(device)):
        assert merged.tz == "America/Los_Angeles"
        assert merged.tz_at == D0 - 10 * DAY
    # the later zone wins the other way round too
    crm_old = _state("crm:C1", Event("crm/c", "crm", "contact_created", D0 - 40 * DAY, ("crm:C1",),
                                     {"timezone": "America/Los_Angeles"}))
    assert device.merge(crm_old).tz == crm_old.merge(device).tz == "Europe/Berlin"


def test_without_zone_times_the_newer_profile_keeps_its_zone():
    """States stored before zone times existed: the rule of before (the profile with the later last event)."""
    a = CustomerState(customer_id="crm:A", tz="Europe/Paris", last_event=D0)
    b = CustomerState(customer_id="crm:B", tz="Asia/Tokyo", last_event=D0 + 1)
    assert a.merge(b).tz == b.merge(a).tz == "Asia/Tokyo"


def test_a_state_stored_before_the_zone_time_was_added_still_reads():
    import marshal
    s = _state("crm:C1", Event("crm/c", "crm", "contact_created", D0, ("crm:C1",), {"timezone": "Europe/Paris"}))
    assert decode_state(encode_state(s)) == s
    old = encode_state(s)[:2] + marshal.dumps(tuple(getattr(s, f) for f in LAYOUT[:LAYOUT.index("tz_at")]), 4)
    back = decode_state(old)
    assert back.tz == "Europe/Paris" and back.tz_at is None
    assert CustomerState.from_bytes(s.to_bytes()).tz_at == D0  # the JSON form (state transfers) keeps it
