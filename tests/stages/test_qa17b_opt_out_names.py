"""qa17b: an opt-out named in a sending tool's own words is an opt-out, on the engagement stream and in Segment.

Iterable's ``emailUnSubscribe`` / ``smsUnSubscribe``, Resend's ``email.unsubscribed`` / ``email.complained``,
Klaviyo's ``Unsubscribed from Email Marketing``, Intercom's ``unsubscribed_from_emails``, ``SMS Opt Out``,
``Marked Email as Spam``, ``Email Spam Report``: before, as an engagement ``type`` each was an ``unknown_type`` dead
letter, and as a Segment ``track`` name ``Opted Out``, ``SMS Opt Out``, ``emailUnSubscribe`` or ``Marked Email as
Spam`` (no mapped opt-out's words in them) stayed a plain track event: the person kept getting the channel.  Now
``stages.opt_out_names`` reads such a name by its words, for both (a consent ``status`` too), with the channels its
words name; names about something else (a link clicked, a rate, ``Not Spam``, a resubscription) stay what they
were."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from tests.stages.test_qa11a_mailboxes import PARSER, sends
from tests.stages.test_qa10d_two_addresses import holder

ANN, BOB, NUMBER = "ann@example.com", "bob@example.com", "+14155550134"
AT = "2026-10-01T00:00:00Z"
ENGAGEMENT_NAMES = ["emailUnSubscribe", "email.unsubscribed", "email.complained", "Email Unsubscribed",
                    "email_unsubscribed", "Unsubscribed from Email Marketing", "unsubscribed_from_emails",
                    "Marked Email as Spam", "Email Spam Report", "emailComplaint", "Opted Out of Email"]
SEGMENT_NAMES = ["Opted Out", "Opt Out", "unsubscribe", "emailUnSubscribe", "Marked Email as Spam",
                 "Email Spam Report", "Spam Reported", "email.complained"]
NOT_OPT_OUTS = ["Unsubscribe Link Clicked", "hostedUnsubscribeClick", "Marked Not Spam", "Unsubscribe Rate",
                "Spam Check Passed", "Unsubscribe Page Viewed", "Resubscribed", "Analytics Opt Out",
                "Opted Out of Sale", "Tracking Opt-Out", "Cookie Consent Revoked"]


def engagement(name: str, **fields) -> tuple[str, dict]:
    return ("engagement", {"event_id": "o1", "ts": AT, "channel": "email", "email": ANN, "type": name, **fields})


def segment(name: str, **traits) -> tuple[str, dict]:
    return ("track", {"type": "track", "event": name, "messageId": "m1", "userId": "A", "timestamp": AT,
                      "context": {"traits": traits or {"email": ANN}}})


def parsed(stream: str, rec: dict):
    raw = json.dumps(rec).encode()
    ev = PARSER.parse(stream, raw)
    assert PARSER.parse_full(stream, raw).result == ev  # the fast path and the full parser agree
    return ev


def offers(records) -> list[str]:
    return [c for c, _a in sends(records)]


BASE = holder("A", ANN) + holder("B", BOB)


def test_the_holders_get_the_offer_without_an_opt_out():
    assert offers(BASE) == ["crm:A", "crm:B"]


@pytest.mark.parametrize("name", ENGAGEMENT_NAMES)
def test_an_engagement_opt_out_in_a_tools_words_blocks_the_address(name):
    ev = parsed(*engagement(name))
    assert isinstance(ev, Event) and ev.type in ("unsubscribed", "complained"), ev  # before: unknown_type
    assert ev.type == ("complained" if "pam" in name or "omplain" in name else "unsubscribed")
    assert offers(BASE + [engagement(name)]) == ["crm:B"]


@pytest.mark.parametrize("name", SEGMENT_NAMES)
def test_a_segment_opt_out_in_other_words_blocks_the_address(name):
    ev = parsed(*segment(name))
    assert isinstance(ev, Event) and ev.stream == "engagement", ev  # before: a track event
    assert ev.attrs["channel"] == "email"
    assert offers(BASE + [segment(name)]) == ["crm:B"]


@pytest.mark.parametrize("name", NOT_OPT_OUTS)
def test_names_about_something_else_stay_what_they_were(name):
    dead = parsed(*engagement(name))
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown_type"
    ev = parsed(*segment(name))
    assert isinstance(ev, Event) and ev.stream == "track"
    assert offers(BASE + [segment(name)]) == ["crm:A", "crm:B"]


def test_a_consent_status_in_words_is_a_revoke_of_the_channels_it_names():
    rec = {"event_id": "r1", "ts": AT, "crm_id": "A", "channel": "email", "status": "Opted Out of SMS"}
    ev = parsed("consent", rec)
    assert isinstance(ev, Event) and ev.type == "consent_revoked" and ev.attrs["channel"] == "all"  # email + sms
    assert offers(BASE + [("consent", rec)]) == ["crm:B"]


# ------------------------------------------------------------------ texts: the channel the words name
def phone_holder() -> list[tuple[str, dict]]:
    """A with ann@ and a number, consent to email and texts, a cart left on 5 Oct: an email after 1 h, a text a day
    later (cart_abandonment)."""
    return [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": ANN, "phone": NUMBER, "timezone": "America/Los_Angeles"}),
            *[("consent", {"event_id": f"g-{ch}", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": ch,
                           "status": "granted"}) for ch in ("email", "sms")],
            ("web", {"event_id": "l1", "ts": "2026-10-05T13:59:00Z", "type": "login", "anonymous_id": "d-A",
                     "user_id": "A"}),
            ("web", {"event_id": "a1", "ts": "2026-10-05T14:00:00Z", "type": "add_to_cart", "anonymous_id": "d-A",
                     "user_id": "A", "product_id": "P9"}),
            ("web", {"event_id": "x1", "ts": "2026-10-08T00:00:00Z", "type": "page_view",  # (the fold's horizon)
                     "anonymous_id": "d-other"})]


def cart_sends(records) -> list[str]:
    return sorted(a for _c, a in sends(records, "cart_abandonment"))


SMS_OPT_OUTS = {
    "Iterable smsUnSubscribe": ("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER,
                                               "type": "smsUnSubscribe"}),
    "SMS Opt Out, engagement": ("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER,
                                               "type": "SMS Opt Out"}),
    "Segment SMS Opt Out": ("track", {"type": "track", "event": "SMS Opt Out", "messageId": "m1", "userId": "A",
                                      "timestamp": AT}),
    "Segment sms_opt_out by number": ("track", {"type": "track", "event": "sms_opt_out", "messageId": "m1",
                                                "anonymousId": "gw", "timestamp": AT,
                                                "context": {"traits": {"phone": NUMBER}}}),
    "Segment Text Opt-Out": ("track", {"type": "track", "event": "Text Opt-Out", "messageId": "m1", "userId": "A",
                                       "timestamp": AT}),
    # the keywords a person texts (47 CFR 64.1200(a)(10)(i)(B), CTIA STOPALL) as the record's type ...
    **{f"keyword {k}": ("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER, "type": k})
       for k in ("STOPALL", "QUIT", "END", "CANCEL", "REVOKE")},
    # ... an inbound text whose body is one, Twilio's Advanced Opt-Out field
    "inbound STOP": ("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER,
                                    "type": "inbound_message", "body": " Stop "}),
    "Braze InboundReceive quit": ("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER,
                                                 "type": "InboundReceive", "inbound_body": "QUIT"}),
    "Twilio OptOutType": ("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER,
                                         "type": "received", "OptOutType": "STOP"}),
}


def test_the_cart_reminders_go_by_email_and_text_without_an_opt_out():
    assert cart_sends(phone_holder()) == [NUMBER, ANN]


@pytest.mark.parametrize("case", sorted(SMS_OPT_OUTS))
def test_an_sms_opt_out_in_words_stops_the_texts_not_the_email(case):
    # before: a dead letter or a track event, and the text went out
    assert cart_sends(phone_holder() + [SMS_OPT_OUTS[case]]) == [ANN]


def test_a_type_written_twice_reads_the_opt_out_in_words_with_its_channel():
    """``stages.duplicate_keys``: of a ``type`` written twice, the opt-out is read -- in a tool's words too (before:
    ``smsUnSubscribe`` beside ``delivered`` read as ``delivered``), with the channel its words name."""
    raw = ('{"event_id": "o1", "ts": "%s", "channel": "sms", "phone": "%s", "type": "smsUnSubscribe", '
           '"type": "delivered"}' % (AT, NUMBER))
    ev = PARSER.parse("engagement", raw)
    assert isinstance(ev, Event) and (ev.type, ev.attrs["channel"]) == ("unsubscribed", "sms")
    consent = ('{"event_id": "r1", "ts": "%s", "crm_id": "A", "channel": "email", "status": "Opted Out of SMS", '
               '"status": "granted"}' % AT)
    ev = PARSER.parse("consent", consent)
    assert isinstance(ev, Event) and (ev.type, ev.attrs["channel"]) == ("consent_revoked", "all")


NO_CONSENT_STATUSES = ["NEVER_SUBSCRIBED", "SUPPRESSED", "do_not_contact", "DoNotContact", "not_opted_in",
                       "no_consent", "expired", "cleaned", "revoked_by_user", "Consent Withdrawn", "denied_by_user"]


@pytest.mark.parametrize("status", NO_CONSENT_STATUSES)
def test_a_consent_status_saying_no_consent_is_a_revoke(status):
    """Klaviyo's NEVER_SUBSCRIBED / SUPPRESSED, a do-not-contact flag, an expired consent, Mailchimp's cleaned
    member, a status in words: before, an ``unknown_type`` dead letter, and the earlier grant stood."""
    rec = {"event_id": "r1", "ts": AT, "crm_id": "A", "channel": "email", "status": status}
    ev = parsed("consent", rec)
    assert isinstance(ev, Event) and (ev.type, ev.attrs["channel"]) == ("consent_revoked", "email"), ev
    assert offers(BASE + [("consent", rec)]) == ["crm:B"]


@pytest.mark.parametrize("status", ["pending", "transactional", "paused"])
def test_statuses_that_do_not_say_no_consent_stay_dead_letters(status):
    dead = parsed("consent", {"event_id": "r1", "ts": AT, "crm_id": "A", "channel": "email", "status": status})
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown_type"
    dead = parsed(*engagement("Invite Declined"))  # (revoke words are a consent status's only)
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown_type"


@pytest.mark.parametrize("body", ["HELP", "Stop sending me the blue ones?", "START"])
def test_an_inbound_text_that_is_no_opt_out_keyword_stays_a_dead_letter(body):
    dead = parsed("engagement", {"event_id": "o1", "ts": AT, "channel": "sms", "phone": NUMBER,
                                 "type": "inbound_message", "body": body})
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown_type"


@pytest.mark.parametrize("fields, opted_out", [
    ({"type": "SubscriptionChange", "SuppressSending": True}, True),  # Postmark
    ({"type": "SubscriptionChange", "SuppressSending": False}, False),
    ({"type": "users.behaviors.subscription.GlobalStateChange", "state": "unsubscribed"}, True),  # Braze Currents
    ({"type": "users.behaviors.subscriptiongroup.StateChange", "subscription_status": "Unsubscribed"}, True),
    ({"type": "users.behaviors.subscription.GlobalStateChange", "state": "subscribed"}, False),
])
def test_a_subscription_change_to_unsubscribed_is_an_unsubscribe(fields, opted_out):
    """Before, an ``unknown_type`` dead letter, and the mail went on; a change to subscribed is no grant (it stays a
    dead letter)."""
    rec = ("engagement", {"event_id": "o1", "ts": AT, "channel": "email", "email": ANN, **fields})
    ev = parsed(*rec)
    if not opted_out:
        assert isinstance(ev, DeadLetter) and ev.reason == "unknown_type"
        return
    assert isinstance(ev, Event) and ev.type == "unsubscribed", ev
    assert offers(BASE + [rec]) == ["crm:B"]


# ------------------------------------------------------------------ push: a permission turned off
def welcome(extra: list) -> list[tuple[str, str]]:
    """A new lead who consents to email and push and logs in on the app, then (a day later) ``extra``: the welcome
    journey's onboarding tips, two days after the welcome email, go by push when push is consented and reachable,
    else by email."""
    records = [("crm", {"event_id": "c-L", "ts": "2026-10-01T09:00:00Z", "type": "contact_created", "crm_id": "L",
                        "email": ANN, "timezone": "UTC", "lifecycle_stage": "lead"}),
               *[("consent", {"event_id": f"g-{ch}", "ts": "2026-10-01T09:00:01Z", "crm_id": "L", "channel": ch,
                              "status": "granted"}) for ch in ("email", "push")],
               ("web", {"event_id": "l1", "ts": "2026-10-01T09:00:02Z", "type": "login", "anonymous_id": "app-1",
                        "user_id": "L"}),
               *extra,
               ("web", {"event_id": "x1", "ts": "2026-10-06T00:00:00Z", "type": "page_view",  # (the horizon)
                        "anonymous_id": "d-other"})]
    return sends(records, "welcome")


PUSH_OFF = {
    "Segment Push Notifications Disabled": ("track", {"type": "track", "event": "Push Notifications Disabled",
                                                      "messageId": "m1", "userId": "L", "anonymousId": "app-1",
                                                      "timestamp": "2026-10-02T09:00:00Z"}),
    "Segment Notifications Disabled": ("track", {"type": "track", "event": "Notifications Disabled",
                                                 "messageId": "m1", "userId": "L", "anonymousId": "app-1",
                                                 "timestamp": "2026-10-02T09:00:00Z"}),
    "engagement Push Permission Denied": ("engagement", {"event_id": "p1", "ts": "2026-10-02T09:00:00Z",
                                                         "channel": "push", "anonymous_id": "app-1",
                                                         "type": "Push Permission Denied"}),
}


def test_the_tips_go_by_push_without_a_permission_turned_off():
    assert sorted(a for _c, a in welcome([])) == sorted([ANN, "L"])  # the welcome email; the tips by push (the CRM id)


@pytest.mark.parametrize("case", sorted(PUSH_OFF))
def test_push_turned_off_sends_the_tips_by_email(case):
    assert [a for _c, a in welcome([PUSH_OFF[case]])] == [ANN, ANN]  # before: a push
