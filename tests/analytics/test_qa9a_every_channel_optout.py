"""compare's consent detectors read an opt-out of every channel as the pipeline does (``deliverability.channels_of``).

A preference centre's "unsubscribe from everything" arrives as ``channel: "all"`` (or without a channel: the parser
writes ``all``).  The pipeline blocks each channel (and the named address on its channels); the detectors filed the
status under a channel called ``all`` and never saw it, so a baseline email or text sent after the opt-out was
not counted as a ``no_consent`` conflict.
"""
from __future__ import annotations

import json

import pytest

from journeyflow.analytics import conflicts as C
from journeyflow.analytics.conflicts import Send
from journeyflow.analytics.persons import PersonMap, build_person_facts
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

PARSER = Parser(Hasher(b"test-key"))
T = 1_782_864_000_000  # 2026-07-01T00:00:00Z


def opt_out(stream: str, channel: str | None):
    rec = {"event_id": "r1", "ts": "2026-07-01T00:00:00Z", "email": "ann@example.com"}
    rec.update({"status": "revoked"} if stream == "consent" else {"type": "unsubscribed"})
    if channel is not None:
        rec["channel"] = channel
    ev = PARSER.parse(stream, json.dumps(rec).encode())
    assert ev.attrs["channel"] == "all", ev
    return ev


@pytest.mark.parametrize("stream", ["consent", "engagement"])
@pytest.mark.parametrize("channel", ["all", None])
def test_an_opt_out_of_every_channel_blocks_each_channel_in_the_detectors(stream, channel):
    ev = opt_out(stream, channel)
    person = PersonMap({ev.ids[0]: "P1"}, "identity_clusters")
    facts = build_person_facts([ev], person)
    addresses = C.build_address_facts([ev])
    key = ev.contact["email_key"]
    sends = [Send("P1", ev.ids[0], T + 1, ch, "dunning", "s", f"c-{ch}", "transactional", None, f"d{ch}",
                  key if ch == "email" else None) for ch in ("email", "sms", "push", "call")]
    assert C.consent_conflicts(sends, facts, addresses)["opted_out"] == sends
    assert addresses.blocked_at(key, "email", T + 1) in C.OPT_OUT
