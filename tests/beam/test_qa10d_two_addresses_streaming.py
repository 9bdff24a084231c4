"""qa10d: an opt-out naming two addresses blocks both in streaming too (the address router reads the record's
contact: ``deliverability.named_keys``), with the bounded replay's decisions.

Two CRM contacts, ann@ and bob@, each browsing days later; a hard bounce whose ``crm_id`` is bob@ beside ``email``
ann@ (a bounce blocks no channel, so only the address statuses stop the offers), and a Segment ``Unsubscribed``
whose trait is ann@ and whose ``properties.email`` is bob@.  Before, the second address stayed open."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.beam.test_address_consent import D, HASHER, _stream_decisions, login, views
from tests.scenarios import Scenario, T0

OPT_OUTS = {
    "hard bounce, crm_id an address": ("engagement", dict(crm_id="bob@example.com", email="ann@example.com",
                                                          channel="email", type="bounced")),
    "Segment Unsubscribed, trait and property": ("track", dict(
        type="track", event="Unsubscribed", messageId="m-1", userId="U9",
        context={"traits": {"email": "ann@example.com"}}, properties={"email": "bob@example.com"})),
}


def scenario(optout: str) -> list[Event]:
    s = Scenario()
    s.contact(-10 * D, "A", email="ann@example.com")
    s.contact(-10 * D, "B", email="bob@example.com")
    stream, rec = OPT_OUTS[optout]
    if stream == "track":
        rec = {**rec, "timestamp": (T0 - 5 * D).isoformat()}
        events = [Parser(HASHER).parse("track", rec)]
    else:
        s.add(stream, -5 * D, **rec)
        events = []
    for crm in ("A", "B"):
        login(s, f"dev-{crm}", crm, -4 * D)
        views(s, f"dev-{crm}", td(0))
    parser = Parser(HASHER)
    events += [parser.parse(st, r) for st, recs in s.records.items() for r in recs]
    assert all(isinstance(e, Event) for e in events)
    return sorted(events, key=lambda e: e.sort_key)


@pytest.mark.parametrize("optout", sorted(OPT_OUTS))
def test_an_opt_out_naming_two_addresses_blocks_both_in_streaming(optout):
    from journeyflow.analytics.compare import fold_in_process
    from tests.beam.test_address_consent import EngineConfig, _extras_file

    events = scenario(optout)
    decisions, _p, _i = fold_in_process(events, EngineConfig.from_files(journeys=_extras_file()), 2**62)
    after = [(d.customer_id, d.journey_id) for d in decisions if d.action == "send" and d.decided_at >= events[0].ts
             and d.decided_at >= min(e.ts for e in events if e.type in ("bounced", "unsubscribed"))]
    assert after == []  # neither holder gets the browse offer (nor any other email after the opt-out)
    _stream_decisions(events, f"memory://qa10d-two-{optout[:5]}")
