"""qa13c lead 3: a spam complaint or a hard bounce blocks even transactional email, a STOP even transactional texts.

Policy (``defaults/policy.yaml``, ``consent``): transactional needs ``not_opted_out``; "no message ever goes to a
channel in one of those blocking states" (revoked, unsubscribed, complained) in any category, and a hard bounce
blocks its address whatever the category.  The dunning journey (a payment reminder email at once, a text 24 h
later) is transactional.  The one confirmation a STOP gets (CTIA) is the SMS gateway's reply, not a journey send:
journeyflow sends nothing after it.  These held before this round (regression guards for lead 3)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER

PHONE, ANN = "+14155550134", "ann@example.com"
AT = "2026-09-20T00:00:00Z"


def dunning(extra: list[tuple[str, dict]]) -> list[tuple[str, str]]:
    """(channel, address) of the dunning sends of a customer with ``extra`` records before the payment failure."""
    recs = [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": ANN, "phone": PHONE, "timezone": "America/Los_Angeles"})] + extra + [
        ("orders", {"event_id": "o1", "ts": "2026-10-05T18:00:00Z", "type": "payment_failed", "crm_id": "A",
                    "order_id": "O1", "amount": 10, "currency": "USD"})]
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in recs]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 5 * 86_400_000):
        out += [(d.channel, d.address) for d in o.decisions if d.action == "send" and d.journey_id == "dunning"]
    return sorted(out)


def engagement(channel: str, type_: str, **fields) -> tuple[str, dict]:
    return ("engagement", {"event_id": "e1", "ts": AT, "channel": channel, "type": type_, **fields})


EMAIL_BLOCKS = {
    "complaint naming the address": engagement("email", "complained", email=ANN),
    "complaint by CRM id": engagement("email", "complained", crm_id="A"),
    "complaint by the device only": engagement("email", "complained", anonymous_id="dev-9"),
    "hard bounce": engagement("email", "bounced", email=ANN, bounce_type="hard"),
    "bounce without a type (hard)": engagement("email", "bounced", email=ANN),
}
SMS_BLOCKS = {
    "STOP as an unsubscribe": engagement("sms", "unsubscribed", phone=PHONE),
    "STOP as a consent revoke": ("consent", {"event_id": "e1", "ts": AT, "phone": PHONE, "channel": "sms",
                                             "status": "revoked"}),
    "carrier spam report": engagement("sms", "complained", phone=PHONE),
}
LOGIN = ("web", {"event_id": "l1", "ts": "2026-09-21T00:00:00Z", "type": "login", "anonymous_id": "dev-9",
                 "user_id": "A"})


def test_without_an_opt_out_both_reminders_go():
    assert dunning([]) == [("email", ANN), ("sms", PHONE)]


@pytest.mark.parametrize("case", sorted(EMAIL_BLOCKS))
def test_a_complaint_or_hard_bounce_blocks_transactional_email(case):
    assert dunning([EMAIL_BLOCKS[case], LOGIN]) == [("sms", PHONE)]


@pytest.mark.parametrize("case", sorted(SMS_BLOCKS))
def test_a_stop_blocks_transactional_texts(case):
    assert dunning([SMS_BLOCKS[case]]) == [("email", ANN)]


def test_a_later_grant_by_crm_id_does_not_reopen_the_stopped_number():
    # a CRM sync re-asserting an old opt-in (by CRM id, dated after the STOP) re-grants the channel, not the number
    grant = ("consent", {"event_id": "g1", "ts": "2026-09-25T00:00:00Z", "crm_id": "A", "channel": "sms",
                         "status": "granted"})
    assert dunning([SMS_BLOCKS["STOP as an unsubscribe"], grant]) == [("email", ANN)]
    # a later grant of the number itself (the customer texted START) re-opens it
    start = ("consent", {"event_id": "g2", "ts": "2026-09-25T00:00:00Z", "phone": PHONE, "channel": "sms",
                         "status": "granted"})
    assert dunning([SMS_BLOCKS["STOP as an unsubscribe"], start]) == [("email", ANN), ("sms", PHONE)]
