"""qa15b: a spam complaint about a text or a push blocks that channel, as ``Email Marked as Spam`` blocks email.

Before: a Segment ``SMS Marked as Spam`` (an SMS tool reporting a carrier or handset spam report in the spec's
email event's words) was an unmapped ``track`` event: the number kept getting texts, even transactional ones.  Now
a mapped opt-out whose name begins with its own channel's word (``Email Marked as Spam``) is that opt-out of
another channel when the name begins with that channel's word instead (``SMS`` / ``Text`` / ``MMS`` ...:
sms; ``Push`` / ``Push Notification``: push) -- of that channel only, not email (``segment.optouts``).  A
complaint's other spellings on the built-in stream (``spam_report``, ``SpamComplaint`` as a bounce type) were and
are a ``complained``."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from tests.stages.test_qa11a_mailboxes import PARSER
from tests.stages.test_qa13c_push_opt_outs import onboarding
from tests.stages.test_qa13c_transactional_opt_outs import ANN, PHONE, dunning

AT = "2026-09-20T00:00:00Z"


def complaint(event: str, **who) -> tuple[str, dict]:
    return ("track", {"type": "track", "event": event, "messageId": "m1", "timestamp": AT, **who})


SMS_NAMES = ["SMS Marked as Spam", "sms_marked_as_spam", "SMSMarkedAsSpam", "Text Marked as Spam",
             "MMS Marked as Spam", "Text Message Marked as Spam", "SMS Marked as Spam (carrier report)"]


@pytest.mark.parametrize("name", SMS_NAMES)
def test_an_sms_spam_complaint_stops_the_texts_not_the_email(name):
    rec = complaint(name, userId="A", context={"traits": {"phone": PHONE}})
    ev = PARSER.parse("track", json.dumps(rec[1]).encode())
    assert isinstance(ev, Event) and (ev.stream, ev.type, ev.attrs["channel"]) == ("engagement", "complained", "sms")
    assert dunning([rec]) == [("email", ANN)]  # before: an unmapped track event, the text went out


def test_an_sms_spam_complaint_naming_only_the_number_blocks_it():
    assert dunning([complaint("SMS Marked as Spam", anonymousId="handset-1",
                              context={"traits": {"phone": PHONE}})]) == [("email", ANN)]


@pytest.mark.parametrize("name", ["Push Notification Marked as Spam", "Push Marked as Spam"])
def test_a_push_spam_complaint_stops_push(name):
    rec = ("track", {**complaint(name, userId="A", anonymousId="app-9")[1], "timestamp": "2026-10-06T00:00:00Z"})
    assert onboarding([rec]) == ["email"]  # before: push


def test_the_email_complaint_is_unchanged():
    ev = PARSER.parse("track", json.dumps(complaint("Email Marked as Spam", userId="A")[1]).encode())
    assert ev.attrs["channel"] == "email"


@pytest.mark.parametrize("name", ["SMS Marked", "Spam Check Passed", "SMS Sent", "Marked as Spam Rate"])
def test_other_names_stay_track_events(name):
    ev = PARSER.parse("track", json.dumps(complaint(name, userId="A")[1]).encode())
    assert isinstance(ev, Event) and ev.stream == "track"


# --- a complaint written as a consent status (a CDP's subscription status: Klaviyo's SPAM_COMPLAINT suppression,
# an ESP sync writing "complained"): a revoke of that channel (before: an unknown_type dead letter, the next
# message went out); the engagement stream already read its spellings (spam_report, abuse, MarkAsSpam)
CONSENT_COMPLAINTS = ["complained", "spam_complaint", "SPAM_COMPLAINT", "Marked as Spam", "spam", "abuse",
                      "reported_spam", "spam_report"]


@pytest.mark.parametrize("status", CONSENT_COMPLAINTS)
def test_a_complaint_as_a_consent_status_revokes_the_channel(status):
    rec = ("consent", {"event_id": "r1", "ts": AT, "phone": PHONE, "channel": "sms", "status": status})
    ev = PARSER.parse("consent", json.dumps(rec[1]).encode())
    assert isinstance(ev, Event) and ev.type == "consent_revoked"
    assert dunning([rec]) == [("email", ANN)]
