"""An opt-out whose event id repeats is never lost.

De-duplication is by ``stream/event_id`` (``duplicate_event``), and execution tools key their webhook events by the
message they are about: an ESP reports ``delivered`` and later ``unsubscribed`` for one message under one id; a
preference centre may key its records by customer and channel.  Before: the second record -- the opt-out -- was
dead-lettered as a duplicate and the customer kept getting promos.  Now a consent/deliverability record whose id
repeats is still a ``duplicate_event`` for the journeys, but its change is applied (it is idempotent: a true
redelivery changes nothing), on both paths (``ClusterFold`` and the streaming core ``advance``).
"""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.parse import parse_ts
from tests.stages.test_same_ms_moments import bounded, streaming

D0 = parse_ts("2026-10-05T00:00:00+00:00")
HOUR, DAY = 3_600_000, 86_400_000
CONTACT = {"email": "ann@example.com", "phone": "+14155550101"}
CONFIG = EngineConfig.from_files()
RUNS = [pytest.param(bounded, id="bounded"), pytest.param(streaming, id="streaming")]


def e(uid: str, stream: str, type_: str, ts: int, contact=CONTACT, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:A",), attrs, contact)


def history(*status: Event) -> list[Event]:
    t = D0 - 30 * DAY
    browse = [e(f"web/v{i}", "web", "product_view", D0 + 12 * HOUR + i * 60_000, product_id="P1") for i in range(3)]
    return [e("crm/c", "crm", "contact_created", t, timezone="UTC"),
            e("consent/grant", "consent", "consent_granted", t + 1, channel="email", status="granted"),
            *status, *browse]


def promo_sent(out) -> bool:
    return any(d.action == "send" and d.journey_id == "browse_offer" for d in out.decisions)


def duplicates(out) -> list[str]:
    return [d.source for d in out.dead if d.reason == DeadLetterReason.DUPLICATE_EVENT]


@pytest.mark.parametrize("run", RUNS)
def test_an_unsubscribe_reusing_the_delivered_event_id_blocks_the_promo(run):
    """The ESP's ``delivered`` and ``unsubscribed`` of one message share an event id (both within the 2-day
    de-duplication window): the unsubscribe still blocks the email channel and the address."""
    keyed = {"email": "ann@example.com"}
    evs = history(e("engagement/msg-77", "engagement", "delivered", D0 + 9 * HOUR, keyed, channel="email"),
                  e("engagement/msg-77", "engagement", "unsubscribed", D0 + 10 * HOUR, keyed, channel="email"))
    out = run(evs, CONFIG)
    assert not promo_sent(out)
    assert any(c.reason == "consent" for d in out.decisions for c in d.candidates if c.journey_id == "browse_offer")
    assert duplicates(out) == ["engagement/msg-77"]  # still reported: the journeys did not see it twice
    # without the unsubscribe the promo goes out (so the unsubscribe is what stops it)
    assert promo_sent(run(history(e("engagement/msg-77", "engagement", "delivered", D0 + 9 * HOUR, keyed,
                                    channel="email")), CONFIG))


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("record", ["consent", "engagement"])
def test_a_revoke_reusing_the_grant_id_is_applied(run, record):
    """A preference centre keyed by customer and channel (the grant and, an hour later, the revoke), or an ESP keyed
    by message (opened, then a complaint), reuse an event id."""
    if record == "consent":
        first = e("consent/pref-A-email", "consent", "consent_granted", D0 + 8 * HOUR, channel="email",
                  status="granted")
        second = e("consent/pref-A-email", "consent", "consent_revoked", D0 + 9 * HOUR, channel="email",
                   status="revoked")
    else:  # an ESP keyed by message: opened, then a spam complaint about it
        first = e("engagement/msg-9", "engagement", "opened", D0 + 8 * HOUR, channel="email")
        second = e("engagement/msg-9", "engagement", "complained", D0 + 9 * HOUR, channel="email")
    out = run(history(first, second), CONFIG)
    assert not promo_sent(out)


@pytest.mark.parametrize("run", RUNS)
def test_a_true_redelivery_changes_nothing(run):
    """The same opt-out twice (a redelivery), or the same grant twice: one ``duplicate_event``, decisions as with
    one copy."""
    revoke = e("consent/r", "consent", "consent_revoked", D0 + 9 * HOUR, channel="email", status="revoked")
    once, twice = run(history(revoke), CONFIG), run(history(revoke, revoke), CONFIG)
    assert [d.decision_id for d in twice.decisions] == [d.decision_id for d in once.decisions]
    assert duplicates(twice) == ["consent/r"]
    regrant = e("consent/grant", "consent", "consent_granted", D0 - 30 * DAY + 1, channel="email", status="granted")
    again = run(history(regrant), CONFIG)
    assert promo_sent(again) and duplicates(again) == ["consent/grant"]
