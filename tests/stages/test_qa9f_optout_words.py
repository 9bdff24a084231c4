"""Opt-outs in the words the sending tools and preference centres write are opt-outs (QA of session 9, qa9f).

Before: Twilio's ``STOP`` reply, Mailchimp/Mandrill's ``unsub``, ``abuse``, ``hard_bounce`` and ``cleaned``,
SendGrid's ``group_unsubscribe``, Postmark's ``HardBounce`` / ``SpamComplaint``, Braze's ``MarkAsSpam``, and a consent
status of ``revoke``, ``withdraw``, ``STOP``, ``optedOut``, ``NOT_SUBSCRIBED``, ``cancelled``, ``N`` or ``0`` were
``unknown_type`` dead letters: the person who opted out kept getting messages.  Now they are the schema's opt-out
symbols (``spellings.ENUM_SYNONYMS``), in the full and the fast path alike; grants stay strict."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.deliverability import HARD_BOUNCE, address_effects
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState
from tests.stages.test_input_edge_cases import HASHER, P


def _parse(stream: str, rec: dict):
    raw = json.dumps({"event_id": "o1", "ts": "2026-10-05T09:00:00Z", **rec}).encode()
    ev = P.parse_full(stream, raw).result
    assert Parser(HASHER).parse(stream, raw) == ev  # the fast path reads it alike
    return ev


def _sms_open_after(ev: Event) -> bool:
    st = CustomerState(customer_id="crm:A")
    st.apply(_parse("consent", {"event_id": "g", "ts": "2025-01-01T00:00:00Z", "crm_id": "A", "channel": "sms",
                                "status": "granted"}))
    st.apply(ev)
    return st.has_consent("sms")


@pytest.mark.parametrize("written", ["STOP", "stop", "unsub", "Unsubscribe Request", "group_unsubscribe",
                                     "list_unsubscribe", "abuse", "SpamComplaint", "MarkAsSpam", "marked_as_spam"])
def test_a_tools_opt_out_word_stops_the_channel(written):
    ev = _parse("engagement", {"crm_id": "A", "channel": "sms", "type": written})
    assert isinstance(ev, Event) and ev.type in ("unsubscribed", "complained"), ev
    assert not _sms_open_after(ev)


@pytest.mark.parametrize("written", ["hard_bounce", "HardBounce", "bounce_hard", "cleaned"])
def test_a_tools_hard_bounce_word_blocks_the_address(written):
    ev = _parse("engagement", {"email": "ann@example.com", "channel": "email", "type": written})
    assert isinstance(ev, Event) and ev.type == "bounced", ev
    assert [effect for _k, ch, effect, _ts in address_effects(ev) if ch == "email"] == [HARD_BOUNCE]


@pytest.mark.parametrize("written", ["revoke", "withdraw", "STOP", "optedOut", "NOT_SUBSCRIBED", "not granted",
                                     "cancelled", "canceled", "N", "0", "unsubscribed_all"])
def test_a_consent_status_word_of_a_revoke_revokes(written):
    ev = _parse("consent", {"crm_id": "A", "channel": "sms", "status": written})
    assert isinstance(ev, Event) and ev.type == "consent_revoked", ev
    assert not _sms_open_after(ev)


@pytest.mark.parametrize("written", ["active", "1", "y", "maybe"])
def test_unclear_grant_words_still_grant_nothing(written):
    ev = _parse("consent", {"crm_id": "A", "channel": "sms", "status": written})
    assert isinstance(ev, DeadLetter) and ev.reason == "unknown_type"
