"""qa17b in streaming: an opt-out named in a tool's own words (an engagement ``email.unsubscribed``, a Segment
``Opted Out`` / ``SMS Opt Out``, an identify whose traits say ``unsubscribed``) blocks the address in the streaming stages as in replay (the parse is shared; the
router copies its status to the other holder of the mailbox).  The fault and the replay side:
tests/stages/test_qa17b_opt_out_names.py."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from tests.beam.test_address_consent import HASHER, _stream_decisions
from tests.beam.test_qa11a_mailboxes_streaming import offered
from journeyflow.stages.parse import Parser
from tests.stages.test_qa10d_two_addresses import holder

AT = "2026-10-01T00:00:00Z"
CASES = {
    "Resend email.unsubscribed naming ann+news@": ("engagement", {
        "event_id": "o1", "ts": AT, "channel": "email", "email": "ann+news@example.com", "type": "email.unsubscribed"}),
    "Segment Opted Out by A": ("track", {"type": "track", "event": "Opted Out", "messageId": "m1", "userId": "A",
                                         "timestamp": AT}),
    "Segment identify unsubscribed: true, A and a device": ("track", {
        "type": "identify", "messageId": "i1", "userId": "A", "anonymousId": "dev-9", "timestamp": AT,
        "traits": {"unsubscribed": True}}),
    "Segment identify email_subscribe unsubscribed by ann@": ("track", {
        "type": "identify", "messageId": "i2", "anonymousId": "esp-1", "timestamp": AT,
        "traits": {"email": "ann@example.com", "email_subscribe": "unsubscribed"}}),
    "Marked Email as Spam naming ann@": ("engagement", {
        "event_id": "o1", "ts": AT, "channel": "email", "email": "ann@example.com", "type": "Marked Email as Spam"}),
}


def events(extra) -> list[Event]:
    parser = Parser(HASHER)
    evs = [parser.parse(s, json.dumps(r).encode()) for s, r in holder("A", "ann@example.com")
           + holder("B", "bob@example.com") + extra]
    assert all(isinstance(e, Event) for e in evs), evs
    return sorted(evs, key=lambda e: e.sort_key)


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_opt_out_in_a_tools_words_blocks_in_streaming_as_in_replay(case):
    evs = events([CASES[case]])
    assert offered(evs) == {"crm:B"}  # before: {"crm:A", "crm:B"}
    _stream_decisions(evs, f"memory://qa17b-{abs(hash(case))}")
