"""An opt-out naming a phone rather than a channel (``channel: "phone"``, ``"Phone Number"``, ``"cell"``: a
preference centre's "Phone" box, a call-centre note) stops texts and calls (compliance fails safe).

Before: such a consent revoke or engagement unsubscribe was a ``schema_violation`` dead letter ("phone" may mean SMS
or calls), so the person who asked not to be contacted by phone kept getting texts.  Now it is an opt-out of both
(``spellings.PHONE_CHANNELS``, ``deliverability.channels_of``); a *grant* naming a phone still grants nothing (it
cannot say which channel the person agreed to)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.deliverability import address_effects
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.state import CustomerState
from tests.stages.test_input_edge_cases import GOOD, HASHER, P
from tests.stages.test_qa9b_channels import MAPPING

DAY = "2026-10-05"
PHONE_WORDS = ["phone", "Phone", "PHONE NUMBER", "phone_number", "cell", "Cell Phone", "tel"]


def _grants(state: CustomerState) -> None:
    for ch in ("email", "sms", "push", "call"):
        state.apply(P.parse_full("consent", json.dumps({"event_id": f"g-{ch}", "ts": "2025-01-01T00:00:00Z",
                                                        "crm_id": "A", "channel": ch,
                                                        "status": "granted"}).encode()).result)


@pytest.mark.parametrize("written", PHONE_WORDS)
@pytest.mark.parametrize("stream, rec", [
    ("consent", {"status": "revoked"}), ("consent", {"status": "opted_out"}),
    ("engagement", {"type": "unsubscribed"}), ("engagement", {"type": "complained"})])
def test_an_opt_out_naming_a_phone_stops_texts_and_calls_only(stream, rec, written):
    raw = json.dumps({"event_id": "o1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", **rec, "channel": written}).encode()
    ev = P.parse_full(stream, raw).result
    assert isinstance(ev, Event), ev
    assert Parser(HASHER).parse(stream, raw) == ev  # the fast path hands it over, same result
    st = CustomerState(customer_id="crm:A")
    _grants(st)
    st.apply(ev)
    assert [ch for ch in ("email", "sms", "push", "call") if st.has_consent(ch)] == ["email", "push"]


def test_an_opt_out_of_a_phone_by_its_number_blocks_that_number_for_texts_and_calls():
    ev = P.parse_full("consent", json.dumps({"event_id": "o2", "ts": f"{DAY}T09:00:00Z", "phone": "+14155550134",
                                            "channel": "Phone", "status": "revoked"}).encode()).result
    assert isinstance(ev, Event), ev
    assert sorted(ch for _k, ch, effect, _ts in address_effects(ev) if effect == "revoked") == ["call", "sms"]


@pytest.mark.parametrize("written", ["phone", "Phone Number"])
def test_a_grant_naming_a_phone_grants_nothing(written):
    dead = P.parse_full("consent", json.dumps({**GOOD["consent"], "status": "granted",
                                               "channel": written}).encode()).result
    assert isinstance(dead, DeadLetter) and dead.reason == "schema_violation"


def segment_unsubscribe(channel: str) -> Event | DeadLetter:
    """A Segment ``Unsubscribed`` of user A whose channel the mapping reads from ``properties.channel``."""
    p = Parser(HASHER, ParseConfig(segment_mapping=MAPPING))
    msg = {**GOOD["track"], "userId": "A", "event": "Unsubscribed", "properties": {"channel": channel}}
    return p.parse_full("track", json.dumps(msg).encode()).result


def test_a_segment_unsubscribe_naming_a_phone_stops_texts_and_calls():
    ev = segment_unsubscribe("Phone")
    assert isinstance(ev, Event) and ev.attrs["channel"] == "phone", ev
    st = CustomerState(customer_id="crm:A")
    _grants(st)
    st.apply(ev)
    assert not st.has_consent("sms") and not st.has_consent("call") and st.has_consent("email")
