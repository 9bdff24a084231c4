"""Push device statuses (``stages.push_devices``, qa14c): order-independent, per device, restored by a grant."""
from __future__ import annotations

import itertools

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.state import CustomerState


def _ev(uid, stream, typ, ts, ids, **attrs):
    return Event(uid, stream, typ, ts, ids, {"channel": "push", **attrs}, {})


def _state(events) -> CustomerState:
    s = CustomerState(customer_id="crm:C", ids=["crm:C"])
    for e in events:
        s.apply(e)
    return s


DELIVERED = _ev("e1", "engagement", "delivered", 10, ("crm:C", "anon:a"))
BOUNCED = _ev("e2", "engagement", "bounced", 20, ("crm:C", "anon:a"))
OPENED_LATER = _ev("e3", "engagement", "opened", 30, ("crm:C", "anon:a"))


def test_the_device_status_does_not_depend_on_the_order_records_arrive_in():
    """A delivery only marks a device known: an unregistration stays, whichever is applied first."""
    results = {_state(p).delivery_address("push", 40) for p in itertools.permutations([DELIVERED, BOUNCED,
                                                                                        OPENED_LATER])}
    assert results == {"undeliverable"}


def test_a_soft_bounce_under_the_limit_keeps_the_device():
    soft = _ev("e4", "engagement", "bounced", 20, ("crm:C", "anon:a"), bounce_type="soft")
    s = _state([DELIVERED, soft])
    assert s.delivery_address("push", 40, soft_max=3, soft_window_ms=100) == ("crm:C", "C")
    assert s.delivery_address("push", 40, soft_max=1, soft_window_ms=100) == "undeliverable"


def test_a_device_opt_out_is_a_consent_block_and_a_later_grant_lifts_it():
    revoked = _ev("c1", "consent", "consent_revoked", 20, ("anon:a",))
    s = _state([DELIVERED, revoked])
    assert s.delivery_address("push", 30) == "opted_out"
    s.apply(_ev("c2", "consent", "consent_granted", 30, ("anon:a",)))
    assert s.delivery_address("push", 40) == ("crm:C", "C")


def test_a_user_level_bounce_is_lifted_by_a_later_push_grant_or_a_device_seen_since():
    user_bounce = _ev("e5", "engagement", "bounced", 20, ("crm:C",))
    assert _state([DELIVERED, user_bounce]).delivery_address("push", 30) == "undeliverable"
    assert _state([DELIVERED, user_bounce, _ev("e6", "engagement", "delivered", 25, ("crm:C", "anon:b"))]
                  ).delivery_address("push", 30) == ("crm:C", "C")
    assert _state([user_bounce, _ev("c3", "consent", "consent_granted", 25, ("crm:C",))]
                  ).delivery_address("push", 30) == ("crm:C", "C")


def test_a_merge_keeps_every_devices_status():
    a = _state([DELIVERED, BOUNCED])
    b = _state([_ev("e7", "engagement", "delivered", 15, ("crm:C", "anon:b"))])
    assert a.merge(b).delivery_address("push", 40) == b.merge(a).delivery_address("push", 40) == ("crm:C", "C")


@pytest.mark.parametrize("word, kind", [("Unregistered", "hard"), ("UNREGISTERED", "hard"), ("NotRegistered", "hard"),
                                        ("BadDeviceToken", "hard"), ("QUOTA_EXCEEDED", "soft"),
                                        ("TooManyRequests", "soft")])
def test_push_services_bounce_words_are_read(word, kind):
    """APNs' and FCM's error names as a push bounce's ``bounce_type``: understood (before: dropped with a field
    warning and read as hard, a rate limit unregistering a live device)."""
    import json

    from tests.stages.test_qa11a_mailboxes import PARSER
    rec = {"event_id": "e1", "ts": "2026-10-06T00:00:00Z", "crm_id": "A", "anonymous_id": "d1", "channel": "push",
           "type": "bounced", "bounce_type": word}
    assert PARSER.parse("engagement", json.dumps(rec).encode()).attrs["bounce_type"] == kind
