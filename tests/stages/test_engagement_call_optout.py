"""An engagement opt-out from a call tool (``channel: "voice"``, ``"call"``, ``"Phone Call"``) stops calls.

The engagement schema names no call channel (its tools report on email, sms and push), so such an unsubscribe or
complaint was a ``schema_violation`` dead letter and the person kept being called (compliance fails safe; qa9f left
it noted).  Now it is an opt-out of calls only (``spellings.opt_out_scope``); a delivery or open naming a call stays
a dead letter (no opt-out: one of the schema's channels is required)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.deliverability import address_effects
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState
from tests.stages.test_input_edge_cases import HASHER, P


def _parse(stream: str, rec: dict):
    raw = json.dumps({"event_id": "x1", "ts": "2026-10-05T09:00:00Z", **rec}).encode()
    got = P.parse_full(stream, raw).result
    assert Parser(HASHER).parse(stream, raw) == got  # both parse paths agree
    return got


@pytest.mark.parametrize("written", ["call", "voice", "Phone Call", "calls"])
@pytest.mark.parametrize("etype", ["unsubscribed", "complained", "unsubscribe"])
def test_a_call_tools_opt_out_stops_calls_only(written, etype):
    ev = _parse("engagement", {"crm_id": "A", "type": etype, "channel": written})
    assert isinstance(ev, Event) and ev.attrs["channel"] == "call", ev
    st = CustomerState(customer_id="crm:A")
    for ch in ("email", "sms", "push", "call"):
        st.apply(_parse("consent", {"event_id": f"g-{ch}", "ts": "2026-01-01T00:00:00Z", "crm_id": "A",
                                    "channel": ch, "status": "granted"}))
    st.apply(ev)
    assert [ch for ch in ("email", "sms", "push", "call") if st.has_consent(ch)] == ["email", "sms", "push"]


def test_by_its_number_it_blocks_that_number_for_calls():
    ev = _parse("engagement", {"phone": "+14155550134", "type": "unsubscribed", "channel": "voice"})
    assert isinstance(ev, Event), ev
    assert [(ch, effect) for _k, ch, effect, _ts in address_effects(ev)] == [("call", "unsubscribed")]


@pytest.mark.parametrize("etype", ["delivered", "opened"])
def test_a_delivery_naming_a_call_is_still_a_dead_letter(etype):
    dead = _parse("engagement", {"crm_id": "A", "type": etype, "channel": "call"})
    assert isinstance(dead, DeadLetter) and dead.reason == "schema_violation"


def test_a_segment_mapped_call_opt_out_stops_calls():
    from tests.stages.test_phone_channel_optout import segment_unsubscribe
    ev = segment_unsubscribe("voice")
    assert isinstance(ev, Event) and ev.attrs["channel"] == "call", ev
