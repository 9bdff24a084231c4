"""Bounce types in the words of the ESPs that send them (QA of the deliverability area).

An engagement ``bounced`` record's ``bounce_type`` decides whether the address is blocked for good (hard) or only
counted (soft, ``deliverability.soft_bounces``).  An unknown word is dropped with a field warning and the bounce
counts as hard (fail safe).  Before, the words of Postmark (``HardBounce`` / ``SoftBounce``), Braze and Iterable
(``hard_bounce`` / ``soft_bounce``) and SendGrid's ``blocked`` (a temporary refusal by the receiving server) were
unknown: one soft bounce labelled ``soft_bounce`` blocked the address for good.
"""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState

PARSER = Parser(Hasher(b"test-key"))
DAY = 86_400_000


def bounce(bounce_type: str, i: int = 0) -> Event:
    ev = PARSER.parse("engagement", json.dumps({
        "event_id": f"b{i}", "ts": f"2026-10-0{1 + i}T00:00:00Z", "type": "bounced", "channel": "email",
        "email": "ann@example.com", "bounce_type": bounce_type}).encode())
    assert isinstance(ev, Event), ev
    return ev


@pytest.mark.parametrize("word, kind", [
    ("SoftBounce", "soft"), ("soft_bounce", "soft"), ("Soft Bounce", "soft"), ("blocked", "soft"),
    ("Transient", "soft"), ("HardBounce", "hard"), ("hard_bounce", "hard"), ("Permanent", "hard"),
])
def test_the_esps_words_for_a_bounce_type(word, kind):
    assert bounce(word).attrs["bounce_type"] == kind


def test_one_soft_bounce_in_postmarks_words_does_not_block_the_address():
    s = CustomerState(customer_id="c")
    ev = bounce("SoftBounce")
    s.apply(ev)
    assert s.delivery_address("email", ev.ts + DAY, 3, 7 * DAY)[1] == "ann@example.com"
    for i in (1, 2):  # the third soft bounce within 7 days blocks it (the default policy's limit)
        s.apply(bounce("soft_bounce", i))
    assert s.delivery_address("email", ev.ts + 3 * DAY, 3, 7 * DAY) == "undeliverable"


def segment_bounce(properties: dict, i: int = 0) -> Event:
    ev = PARSER.parse("track", json.dumps({
        "type": "track", "event": "Email Bounced", "messageId": f"m-{i}", "userId": "A",
        "timestamp": f"2026-10-0{1 + i}T00:00:00Z", "properties": {"email": "ann@example.com", **properties}}).encode())
    assert isinstance(ev, Event) and ev.stream == "engagement", ev
    return ev


@pytest.mark.parametrize("properties, effect", [
    ({"bounce_type": "soft"}, "soft"), ({"bounce_type": "SoftBounce"}, "soft"), ({"bounceType": "Transient"}, "soft"),
    ({"bounce_type": "hard"}, "hard"), ({"bounce_type": "Permanent"}, "hard"), ({}, "hard"),
    ({"bounce_type": "no idea"}, "hard"),  # an unknown word: hard (fail safe)
])
def test_a_segment_email_bounced_keeps_its_bounce_type(properties, effect):
    from journeyflow.stages.deliverability import HARD_BOUNCE, bounce_effect
    got = bounce_effect(segment_bounce(properties))
    assert (got == HARD_BOUNCE) == (effect == "hard"), got


def test_one_soft_segment_bounce_does_not_block_the_address():
    s = CustomerState(customer_id="c")
    ev = segment_bounce({"bounce_type": "soft"})
    s.apply(ev)
    assert s.delivery_address("email", ev.ts + DAY, 3, 7 * DAY)[1] == "ann@example.com"
