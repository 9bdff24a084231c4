"""A lifecycle stage (and account owner) sent only as Segment ``identify`` traits reaches the customer's profile
(qa13b, lead 1): the Segment Spec's identify traits are the user's profile (segment.com/docs/connections/spec/
identify/), and companies whose CRM feeds Segment send ``lifecycle_stage`` / HubSpot's ``lifecyclestage`` there.
Before, ``customer.lifecycle_stage`` stayed empty for such customers (a journey for customers never fired; the
shipped ``welcome`` welcomed existing customers).  Email and phone traits stay hashed identifiers, never stored."""
from __future__ import annotations

import json
from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from tests.scenarios import T0, Scenario, decisions_of, replay_scenario

JOURNEYS = """version: 1
journeys:
  - id: customers_only
    category: marketing
    priority: 100
    entry:
      event: Trial Ending Soon
      stream: track
      when: "customer.lifecycle_stage == 'customer'"
    steps:
      - {id: offer, send: {channel: email, content_id: customer_offer}}
"""


def _segment(s: Scenario, at, **msg) -> None:
    s.n += 1
    s.records["track"].append({"messageId": f"m{s.n}", "timestamp": (T0 + at).isoformat(), **msg})


@pytest.mark.parametrize("trait", ["lifecycle_stage", "lifecycleStage", "lifecyclestage", "Lifecycle Stage"])
def test_an_identify_lifecycle_stage_is_the_customers_stage(tmp_path, trait):
    s = Scenario()
    _segment(s, td(0), type="identify", userId="u-cust", traits={"email": "cust@example.com", trait: "customer"})
    _segment(s, td(0), type="identify", userId="u-lead", traits={"email": "lead@example.com", trait: "lead"})
    for uid in ("u-cust", "u-lead"):
        s.add("consent", td(seconds=1), crm_id=uid, channel="email", status="granted")
        _segment(s, td(hours=1), type="track", userId=uid, event="Trial Ending Soon")
    _, audit, out = replay_scenario(s, tmp_path, JOURNEYS)
    assert [d["journey_id"] for d in decisions_of(audit, "crm:u-cust")] == ["customers_only"]
    assert decisions_of(audit, "crm:u-lead") == []
    from journeyflow.analytics.tables import read_table
    rows = {r["customer_id"]: r for r in read_table(str(out), "customer_snapshots").to_pylist()}
    assert rows["crm:u-cust"]["lifecycle_stage"] == "customer" and rows["crm:u-lead"]["lifecycle_stage"] == "lead"
    assert "cust@example.com" not in json.dumps(rows, default=str)  # the email trait stays a hashed key


def test_a_later_identify_stage_replaces_the_crm_stage(tmp_path):
    """The identify call updates the profile as a crm record does: the latest applies (crm, then identify)."""
    s = Scenario()
    s.add("crm", td(0), crm_id="u1", email="ann@example.com", type="contact_created", lifecycle_stage="lead")
    s.add("consent", td(seconds=1), crm_id="u1", channel="email", status="granted")
    _segment(s, td(minutes=5), type="identify", userId="u1", traits={"lifecycle_stage": "customer"})
    _segment(s, td(hours=1), type="track", userId="u1", event="Trial Ending Soon")
    _, audit, _ = replay_scenario(s, tmp_path, JOURNEYS)
    assert [d["journey_id"] for d in decisions_of(audit, "crm:u1")] == ["customers_only"]


def _identify(traits: dict, **extra) -> bytes:
    return json.dumps({"type": "identify", "messageId": "m1", "userId": "u1", "timestamp": "2026-10-05T10:00:00Z",
                       "traits": traits, **extra}).encode()


def _parse(line: bytes):
    res = Parser(Hasher(b"k"), ParseConfig()).parse_full("track", line, "track.jsonl:1")
    assert isinstance(res.result, Event), res.result
    return res.result, {w.field: (w.reason, w.detail) for w in res.warnings}


def test_identify_profile_fields_and_their_values():
    ev, warnings = _parse(_identify({"lifecycleStage": " customer ", "ownerId": 4711, "email": "ann@example.com"}))
    assert (ev.attrs["lifecycle_stage"], ev.attrs["owner_id"]) == ("customer", "4711")
    assert "email" not in ev.attrs.get("traits", {}) and any(k.startswith("email:") for k in ev.ids)
    assert warnings == {}
    ev, warnings = _parse(_identify({"lifecycle_stage": 3, "owner_id": True}))
    assert "lifecycle_stage" not in ev.attrs and "owner_id" not in ev.attrs
    assert warnings["traits.lifecycle_stage"][0] == "wrong_type" and warnings["traits.owner_id"][0] == "wrong_type"
    # context.traits merged under an identify's own traits count too; a track call's context.traits describe the
    # user at that moment and do not set the profile
    ev, _ = _parse(_identify({}, context={"traits": {"lifecycle_stage": "customer"}}))
    assert ev.attrs["lifecycle_stage"] == "customer"
    track = json.dumps({"type": "track", "event": "X", "messageId": "m2", "userId": "u1",
                        "timestamp": "2026-10-05T10:00:00Z", "context": {"traits": {"lifecycle_stage": "customer"}}})
    ev, _ = _parse(track.encode())
    assert "lifecycle_stage" not in ev.attrs


def test_an_address_in_a_stage_is_never_kept():
    ev, _ = _parse(_identify({"lifecycle_stage": "lead from ann@example.com"}))
    assert "ann@example.com" not in ev.attrs["lifecycle_stage"] and ev.attrs["lifecycle_stage"].startswith("lead")


@pytest.mark.parametrize("trait", ["timezone", "timeZone", "time_zone", "Time Zone"])
def test_an_identify_time_zone_in_a_crm_exports_spelling_is_the_customers_zone(trait):
    ev, warnings = _parse(_identify({trait: "Europe/Amsterdam"}))
    assert ev.attrs["timezone"] == "Europe/Amsterdam" and warnings == {}
    ev, warnings = _parse(_identify({trait: "Mars/Olympus"}))
    assert "timezone" not in ev.attrs and warnings[f"traits.{trait}"][0] == "unknown_timezone"
