"""qa15b: a bounce is read in the words of the tool that reported it: transient, permanent, the sender's fault or the
person's opt-out (``stages.bounce_words``), through parse -> fold -> decisions.

Before: any ``bounce_type`` the parser did not know (an SMTP status ``4.2.2 mailbox full``, SES's ``MailboxFull``,
Twilio's ``30003``, FCM's ``UNAVAILABLE``, APNs' ``ExpiredProviderToken``) was dropped with a field warning and the
bounce read as hard: a full mailbox or a switched-off phone lost its address for good, a push service's outage or
the sender's expired APNs key unregistered every device it touched, and a Twilio 21610 (the recipient replied STOP)
was a hard bounce -- the number stayed closed after the person texted START again.  The same words in a Segment
``Email Bounced`` / ``Push Notification Bounced`` (``properties.bounceType``, read when the status is applied)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from tests.stages.test_qa11a_mailboxes import PARSER
from tests.stages.test_qa13c_push_opt_outs import onboarding
from tests.stages.test_qa13c_transactional_opt_outs import ANN, PHONE, dunning, engagement

BOTH = [("email", ANN), ("sms", PHONE)]


def _at(channel: str, i: int) -> str:
    # within the soft-bounce window (7d) before the dunning reminders (2026-10-05 18:00); a push one after the
    # onboarding lead's push grant (2026-10-05 10:00: a later grant would lift a block)
    return f"2026-10-06T0{i}:00:00Z" if channel == "push" else f"2026-10-0{i + 1}T00:00:00Z"


def bounce(channel: str, word, n: int = 1, **who) -> list[tuple[str, dict]]:
    """``n`` bounce records on ``channel`` whose ``bounce_type`` is ``word`` (None: absent)."""
    extra = {} if word is None else {"bounce_type": word}
    return [("engagement", {**engagement(channel, "bounced", **who, **extra)[1], "event_id": f"b{i}",
                            "ts": _at(channel, i)}) for i in range(n)]


def segment_bounce(event: str, word: str, n: int = 1, key: str = "bounceType", **who) -> list[tuple[str, dict]]:
    channel = "push" if event.startswith("Push") else "email"
    return [("track", {"type": "track", "event": event, "messageId": f"m{i}", "timestamp": _at(channel, i),
                       **who, "properties": {key: word}}) for i in range(n)]


# --- email: SMTP enhanced status codes (RFC 3463), SES bounce sub-types, Postmark / SendGrid words
EMAIL_SOFT = ["4.2.2 mailbox full", "452 4.2.2 Mailbox full", "421 Service not available, try again later",
              "MailboxFull", "Mailbox Full", "MessageTooLarge", "ContentRejected", "5.2.2", "550 5.7.1 blocked by policy",
              "deferred", "DnsError"]
EMAIL_HARD = ["550 5.1.1 <ann@example.com>: user unknown", "5.1.1", "NoEmail", "OnAccountSuppressionList",
              "Permanent", "BadEmailAddress", "a word nobody knows", None]


@pytest.mark.parametrize("word", EMAIL_SOFT)
def test_a_transient_email_bounce_keeps_the_address(word):
    assert dunning(bounce("email", word, email=ANN)) == BOTH  # before: read as hard, the reminder not sent


@pytest.mark.parametrize("word", EMAIL_HARD)
def test_a_permanent_email_bounce_or_an_unknown_word_blocks_the_address(word):
    assert dunning(bounce("email", word, email=ANN)) == [("sms", PHONE)]  # (unknown: the current rule, hard)


def test_transient_bounces_still_count_towards_the_soft_limit():
    assert dunning(bounce("email", "4.2.2 mailbox full", n=3, email=ANN)) == [("sms", PHONE)]  # policy: 3 in 7d


@pytest.mark.parametrize("key, word", [("bounceType", "4.2.2 mailbox full"), ("bounceType", "MailboxFull"),
                                       ("bounceType", "Transient"), ("bounceSubType", "MailboxFull"),
                                       ("bounce_classification", "Technical"), ("status", "452 4.2.2 Mailbox full")])
def test_a_segment_email_bounced_reads_the_same_words(key, word):
    recs = segment_bounce("Email Bounced", word, key=key, userId="A", context={"traits": {"email": ANN}})
    assert dunning(recs) == BOTH


@pytest.mark.parametrize("key, word", [("bounceSubType", "NoEmail"), ("bounce_classification", "Invalid Address"),
                                       ("status", "550 5.1.1 user unknown")])
def test_a_segment_email_bounced_permanent_in_those_words_blocks(key, word):
    recs = segment_bounce("Email Bounced", word, key=key, userId="A", context={"traits": {"email": ANN}})
    assert dunning(recs) == [("sms", PHONE)]


# --- SMS: Twilio error codes
@pytest.mark.parametrize("code", ["30003", 30003, "30007", "Twilio error 30008",
                                  "Error 30003: Unreachable destination handset"])
def test_a_transient_sms_failure_keeps_the_number(code):
    assert dunning(bounce("sms", code, phone=PHONE)) == BOTH  # before: hard, the text not sent


@pytest.mark.parametrize("code", ["30034", "30032"])
def test_the_senders_own_sms_error_leaves_the_number_as_it_was(code):
    """An unregistered (A2P 10DLC) or unverified (toll-free) sending number: three in a row change nothing."""
    assert dunning(bounce("sms", code, n=3, phone=PHONE)) == BOTH


@pytest.mark.parametrize("code", ["30005", "30006", 21614, "30004", "30005.5", "300051"])
def test_a_dead_or_blocked_number_is_a_hard_bounce(code):
    assert dunning(bounce("sms", code, phone=PHONE)) == [("email", ANN)]


@pytest.mark.parametrize("code", ["21610", 21610])
def test_twilio_21610_is_the_recipients_stop(code):
    """An opt-out of the number's texts, as a STOP reply is: the record is an ``unsubscribed`` and the number stays
    closed until the person texts START (a grant naming the number); before, a hard bounce that no START re-opened."""
    ev = PARSER.parse("engagement", json.dumps(bounce("sms", code, phone=PHONE)[0][1]).encode())
    assert isinstance(ev, Event) and ev.type == "unsubscribed" and "bounce_type" not in ev.attrs
    assert dunning(bounce("sms", code, phone=PHONE)) == [("email", ANN)]
    start = ("consent", {"event_id": "g2", "ts": "2026-10-04T00:00:00Z", "phone": PHONE, "channel": "sms",
                         "status": "granted"})
    assert dunning(bounce("sms", code, phone=PHONE) + [start]) == BOTH


@pytest.mark.parametrize("word, kind", [("suppress-unsubscribe", "unsubscribed"), ("SpamComplaint", "complained"),
                                        ("suppress-complaint", "complained")])
def test_a_bounce_saying_the_person_opted_out_is_that_opt_out(word, kind):
    ev = PARSER.parse("engagement", json.dumps(bounce("email", word, email=ANN)[0][1]).encode())
    assert isinstance(ev, Event) and ev.type == kind


# --- push: FCM v1 ErrorCode, legacy FCM, APNs reasons
PUSH_TRANSIENT = ["UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED", "UNSPECIFIED_ERROR", "TooManyRequests",
                  "ServiceUnavailable", "InternalServerError", "Shutdown", "DeviceMessageRateExceeded"]
PUSH_SENDER = ["ExpiredProviderToken", "InvalidProviderToken", "THIRD_PARTY_AUTH_ERROR", "SENDER_ID_MISMATCH",
               "MismatchSenderId", "PayloadTooLarge", "DeviceTokenNotForTopic", "TopicDisallowed", "BadCertificate"]
PUSH_DEAD = ["UNREGISTERED", "Unregistered", "ExpiredToken", "BadDeviceToken", "NotRegistered", "INVALID_ARGUMENT"]


@pytest.mark.parametrize("word", PUSH_TRANSIENT)
def test_a_transient_push_error_keeps_the_device(word):
    assert onboarding(bounce("push", word, anonymous_id="app-9")) == ["push"]  # before: unregistered, by email


@pytest.mark.parametrize("word", PUSH_SENDER)
def test_the_senders_own_push_error_leaves_the_device_as_it_was(word):
    """Three in a row: not even counted as soft bounces (the policy's limit is 3): the device is fine."""
    assert onboarding(bounce("push", word, n=3, anonymous_id="app-9")) == ["push"]


@pytest.mark.parametrize("word", PUSH_DEAD)
def test_a_dead_token_still_unregisters_the_device(word):
    assert onboarding(bounce("push", word, anonymous_id="app-9")) == ["email"]


def test_three_transient_push_errors_reach_the_soft_limit():
    # (since qa15c customer.reachable.push applies the soft limit as the arbiter does: the tips go by email; before,
    # push was picked, suppressed no_address, and no tip went out)
    assert onboarding(bounce("push", "UNAVAILABLE", n=3, anonymous_id="app-9")) == ["email"]


@pytest.mark.parametrize("key", ["bounceType", "error", "reason"])
@pytest.mark.parametrize("word, sent", [("UNAVAILABLE", ["push"]), ("ExpiredProviderToken", ["push"]),
                                        ("Unregistered", ["email"])])
def test_a_segment_push_notification_bounced_reads_the_same_words(word, sent, key):
    recs = segment_bounce("Push Notification Bounced", word, key=key, anonymousId="app-9", userId="A")
    assert onboarding(recs) == sent


@pytest.mark.parametrize("word", ["deferred", "SoftBounce", "soft_bounce", "Blocked"])
def test_an_esp_event_type_that_is_a_soft_bounce_is_one(word):
    """SendGrid's ``deferred`` / ``blocked`` events, Postmark's and Mailchimp's soft bounce as the record's type:
    a soft ``bounced`` (before: an ``unknown_type`` dead letter: the record lost, nothing counted)."""
    rec = {**engagement("email", word, email=ANN)[1], "ts": "2026-10-01T00:00:00Z"}
    ev = PARSER.parse("engagement", json.dumps(rec).encode())
    assert isinstance(ev, Event) and (ev.type, ev.attrs.get("bounce_type")) == ("bounced", "soft")
    assert dunning([("engagement", rec)]) == BOTH


def test_the_fast_path_and_the_full_parser_agree():
    from journeyflow.stages.parse import Parser
    from tests.stages.test_input_edge_cases import HASHER
    for word in ["soft", "hard", "UNAVAILABLE", "ExpiredProviderToken", "21610", "4.2.2", "nonsense"]:
        raw = json.dumps(bounce("push", word, anonymous_id="app-9")[0][1]).encode()
        p = Parser(HASHER)
        assert p.parse("engagement", raw) == p.parse_full("engagement", raw).result


@pytest.mark.parametrize("value", ["", "  ", "2.0.0", "550", 3.5, True, None, "5.1.7 bad sender"])
def test_bounce_kind_of_odd_values(value):
    """No crash; a bare reply code or a success code says nothing (None: the caller's rule)."""
    from journeyflow.stages.bounce_words import bounce_kind
    assert bounce_kind(value) in (None, "sender")


@pytest.mark.parametrize("word, unnamed", [("ExpiredProviderToken", False), ("4.2.2 mailbox full", True),
                                           (None, True)])
def test_a_late_bounce_handed_over_to_a_merged_customer(word, unnamed):
    """A late bounce naming no address, carried to the survivor of a merge (``identity.online.status_handover``):
    the sender's fault carries no status (no crash on its absent effect); a soft or hard one its kind."""
    import base64

    from journeyflow.stages.identity.online import status_handover
    from journeyflow.stages.state import CustomerState
    attrs = {"channel": "email"} if word is None else {"channel": "email", "bounce_type": word}
    ev = Event(uid="engagement/b1", stream="engagement", type="bounced", ts=1_000, ids=("crm:A",), attrs=attrs)
    state = CustomerState.from_bytes(base64.b64decode(status_handover("crm:A", ev).attrs["state"]))
    assert bool(state.addr_status) is unnamed


# --- a delivery status as the record's type (Twilio's status callback: MessageStatus failed / undelivered with its
# ErrorCode; SendGrid's dropped event with its reason): before, an unknown_type dead letter -- a 21610 (STOP) lost
@pytest.mark.parametrize("typ, word, sent", [
    ("failed", "21610", [("email", ANN)]),  # the recipient's STOP: texts stop
    ("undelivered", "30003", BOTH),  # a switched-off phone: counted, kept
    ("failed", "30005", [("email", ANN)]),  # an unknown handset: hard
    ("undelivered", None, BOTH),  # no code: a failure of unknown cause, counted (soft)
])
def test_a_twilio_status_as_the_type_is_read_with_its_code(typ, word, sent):
    extra = {} if word is None else {"bounce_type": word}
    rec = {**engagement("sms", typ, phone=PHONE, **extra)[1], "ts": "2026-10-01T00:00:00Z"}
    assert isinstance(PARSER.parse("engagement", json.dumps(rec).encode()), Event)
    assert dunning([("engagement", rec)]) == sent


@pytest.mark.parametrize("word, kind", [("Spam Reporting Address", "complained"),
                                        ("Unsubscribed Address", "unsubscribed"), ("Bounced Address", "bounced"),
                                        (None, "bounced")])
def test_a_sendgrid_dropped_event_is_read_with_its_reason(word, kind):
    extra = {} if word is None else {"bounce_type": word}
    rec = {**engagement("email", "dropped", email=ANN, **extra)[1], "ts": "2026-10-01T00:00:00Z"}
    ev = PARSER.parse("engagement", json.dumps(rec).encode())
    assert isinstance(ev, Event) and ev.type == kind and ev.attrs.get("bounce_type") in (None, "hard")
    assert dunning([("engagement", rec)]) == [("sms", PHONE)]  # (the ESP refuses the address: no email)
