"""Personal traits written another way (``Email``, ``E-Mail``, ``email_address``, ``Phone Number``, ``First Name``) are
the Segment Spec's reserved ones (qa13b hunt, a sibling of lead 3's case variants).  Before, ``"Email"`` was kept as a
tokenized trait and never used: an identify did not link the address, and an ``Unsubscribed`` naming its address so
(in ``context.traits`` or, from an email tool, in ``properties``) opted out the user id alone -- the address kept
receiving email under every other profile holding it.  A name so written (``First Name``) was kept in the event."""
from __future__ import annotations

import json
from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from tests.scenarios import T0, Scenario, decisions_of, replay_scenario

TS = "2026-10-05T10:00:00Z"
HASHER = Hasher(b"k")


def _parse(msg: dict) -> Event:
    res = Parser(HASHER, ParseConfig()).parse_full("track", json.dumps(msg).encode(), "track.jsonl:1")
    assert isinstance(res.result, Event), res.result
    return res.result


@pytest.mark.parametrize("where", ["context", "properties"])
@pytest.mark.parametrize("name", ["Email", "EMAIL", "E-Mail", "email_address", "emailAddress"])
def test_an_opt_out_naming_its_address_another_way_opts_the_address_out(where, name):
    msg = {"type": "track", "event": "Unsubscribed", "messageId": "m1", "userId": "u1", "timestamp": TS}
    if where == "context":
        msg["context"] = {"traits": {name: "ann@example.com"}}
    else:
        msg["properties"] = {name: "ann@example.com"}
    ev = _parse(msg)
    assert ev.stream == "engagement" and any(k.startswith("email:") for k in ev.ids)
    assert ev.contact.get("email") == "ann@example.com"
    assert name not in json.dumps(ev.attrs)  # the address is an identifier, not a kept property or trait


def test_a_second_address_beside_the_reserved_one_is_blocked_too():
    ev = _parse({"type": "track", "event": "Unsubscribed", "messageId": "m1", "userId": "u1", "timestamp": TS,
                 "context": {"traits": {"email": "ann@example.com", "Email": "ann.lee@example.com"}}})
    plain = _parse({"type": "track", "event": "Unsubscribed", "messageId": "m2", "userId": "u1", "timestamp": TS,
                    "context": {"traits": {"email": "ann.lee@example.com"}}})
    second = next(k for k in plain.ids if k.startswith("email:"))
    assert second in ev.ids or second in json.dumps(ev.contact), (ev.ids, ev.contact)


def test_identify_links_the_address_and_drops_the_names():
    ev = _parse({"type": "identify", "messageId": "m1", "userId": "u1", "timestamp": TS,
                 "traits": {"Email": "ann@example.com", "Phone Number": "+14155550134", "First Name": "Ann",
                            "plan": "pro"}})
    assert any(k.startswith("email:") for k in ev.ids) and any(k.startswith("phone:") for k in ev.ids)
    assert ev.attrs["traits"] == {"plan": "pro"}


@pytest.mark.parametrize("name", ["Email", "First Name"])
def test_declaring_such_a_trait_is_refused_as_the_reserved_one_is(name):
    with pytest.raises(AttributesError) as e:
        load_attributes_text(f"version: 1\ntraits: {{'{name}': string}}\n", "a.yaml")
    assert "personal data" in str(e.value)


def test_no_email_after_an_unsubscribe_naming_the_address_as_Email(tmp_path):
    """The CRM contact holds the address; the email tool's unsubscribe arrives through Segment under another user
    id with the address as ``properties.Email``: no message goes to the address afterwards."""
    s = Scenario()
    s.contact(td(0), "C1", email="ann@example.com", consent=("email",), stage="lead")
    s.records["track"].append({"type": "track", "event": "Unsubscribed", "messageId": "u-1", "userId": "esp-77",
                               "timestamp": (T0 + td(minutes=10)).isoformat(),
                               "properties": {"Email": "ann@example.com"}})
    s.add("web", td(hours=2), anonymous_id="d1", user_id="C1", type="signup")
    _, audit, out = replay_scenario(s, tmp_path)
    sends = [d for d in decisions_of(audit, "crm:C1") if d["action"] == "send" and d["channel"] == "email"
             and d["decided_at"] > (T0 + td(minutes=10)).timestamp() * 1000]
    assert sends == [], sends
