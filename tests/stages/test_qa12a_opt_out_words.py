"""qa12a: an opt-out naming a category ("Marketing", "Promotions", "Newsletter", "All communications") or a channel
in other words ("SMS/MMS", "MMS", "robocalls") stops the channels it means (a newsletter's: email); before, each
was a ``schema_violation`` dead letter and the next promo (or text) went out.

journeyflow keeps consent per channel, not per category (``CustomerState.consent``), so an opt-out of a category
stops every channel (fail safe; the policy blocks every category on a blocked channel).  MMS is texting to the same
number (CTIA Messaging Principles and Best Practices: one program, one STOP): ``sms``.  A grant naming a category
stays a dead letter (a newsletter's consent is no consent to every email).  ``spellings._MARKETING_SPELLINGS``."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.deliverability import channels_of
from tests.stages.test_qa11a_mailboxes import PARSER, holder, sends

AT = "2026-10-01T00:00:00Z"
CATEGORY_WORDS = ("Marketing", "marketing communications", "All Marketing", "Promotions", "promotional", "Newsletter",
                  "Email Newsletter", "All communications", "unsubscribe all", "commercial", "null")


def records(word: str, by: str) -> list[tuple[str, dict]]:
    """A (ann@) and B (bob@) hold email consent; A opts out of ``word`` by consent record or ESP unsubscribe."""
    rec = {"consent": ("consent", {"event_id": "r1", "ts": AT, "crm_id": "A", "channel": word, "status": "revoked"}),
           "engagement": ("engagement", {"event_id": "r1", "ts": AT, "email": "ann@example.com", "channel": word,
                                         "type": "unsubscribed"})}[by]
    return holder("A", "ann@example.com") + holder("B", "bob@example.com") + [rec]


@pytest.mark.parametrize("by", ["consent", "engagement"])
@pytest.mark.parametrize("word", CATEGORY_WORDS)
def test_an_opt_out_of_a_category_stops_the_customers_marketing(word, by):
    assert sends(records(word, by)) == [("crm:B", "bob@example.com")]  # before: a dead letter, A got the offer


EVERY = ("email", "sms", "push", "call")


@pytest.mark.parametrize("word,channels", [("SMS/MMS", ("sms",)), ("mms", ("sms",)), ("MMS messages", ("sms",)),
                                           ("robocalls", ("call",)), ("Marketing", EVERY), ("Newsletter", ("email",)),
                                           ("SMS, Newsletter", EVERY), ("Email; Promotions", EVERY)])
def test_channel_words_name_their_channels(word, channels):
    for stream, rec in [("consent", {"event_id": "r1", "ts": AT, "crm_id": "A", "channel": word, "status": "revoked"}),
                        ("engagement", {"event_id": "r1", "ts": AT, "phone": "+14155550134", "channel": word,
                                        "type": "unsubscribed"})]:
        ev = PARSER.parse(stream, json.dumps(rec).encode())
        assert isinstance(ev, Event), ev  # before: schema_violation
        assert channels_of(ev.attrs["channel"]) == channels


def test_a_grant_naming_a_category_stays_a_dead_letter():
    for word in ("Marketing", "Newsletter", "null"):
        out = PARSER.parse("consent", json.dumps(
            {"event_id": "g1", "ts": AT, "crm_id": "A", "channel": word, "status": "granted"}).encode())
        assert not isinstance(out, Event) and out.reason.value == "schema_violation"


def test_the_replay_line_parser_reads_them_too():
    from journeyflow.stages.parse_lines import parse_records

    for stream, rec in [("consent", {"event_id": "r1", "ts": AT, "crm_id": "A", "channel": "Promotions",
                                     "status": "revoked"}),
                        ("engagement", {"event_id": "r2", "ts": AT, "phone": "+14155550134", "channel": "SMS/MMS",
                                        "type": "unsubscribed"})]:
        events, dead, _w = parse_records(PARSER, stream, [json.dumps(rec).encode()], ["f"])
        assert not dead and [channels_of(e.attrs["channel"]) for e in events] == [
            ("email", "sms", "push", "call") if stream == "consent" else ("sms",)]
