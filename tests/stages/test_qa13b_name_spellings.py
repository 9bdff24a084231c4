"""An undeclared property or trait that is a declared one in another case or with other separators (``Plan`` for a
declared ``plan``) is read as the declared one, with a field warning naming both spellings (qa13b, lead 3).  Before,
the property was kept silently under its own name (conditions match names exactly: ``event.properties.plan`` never
held) and the trait was silently not kept (only declared traits are)."""
from __future__ import annotations

import json
from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.scenarios import T0, Scenario, decisions_of
from tests.stages.test_qa12c_declared_values import parser_declaring

ATTRS = """version: 1
events:
  Trial Ending Soon:
    properties: {plan: string, days_left: int, seat_count: int}
traits:
  plan: string
"""


@pytest.fixture(scope="module")
def parser(tmp_path_factory) -> Parser:
    return parser_declaring(tmp_path_factory.mktemp("a"), ATTRS)


def _parse(parser: Parser, props: dict, traits: dict | None = None):
    msg = {"type": "track", "event": "Trial Ending Soon", "messageId": "m1", "userId": "u1",
           "timestamp": "2026-10-05T10:00:00Z", "properties": props}
    if traits is not None:
        msg["context"] = {"traits": traits}
    res = parser.parse_full("track", json.dumps(msg).encode(), "track.jsonl:1")
    assert isinstance(res.result, Event), res.result
    return res.result, {w.field: (w.reason, w.action, w.detail) for w in res.warnings}


@pytest.mark.parametrize("sent, declared", [("Plan", "plan"), ("PLAN", "plan"), ("Days Left", "days_left"),
                                            ("seat-count", "seat_count"), ("seatCount", "seat_count")])
def test_a_declared_property_in_another_spelling_is_read_as_declared_and_reported(parser, sent, declared):
    value = "pro" if declared == "plan" else 3
    ev, warnings = _parse(parser, {sent: value})
    assert ev.attrs["properties"] == {declared: value}
    reason, action, detail = warnings[f"properties.{sent}"]
    assert (reason, action) == ("unknown_value", "replaced") and repr(declared) in detail


def test_the_declared_spelling_counts_when_both_are_sent(parser):
    ev, warnings = _parse(parser, {"Plan": "basic", "plan": "pro"})
    assert ev.attrs["properties"] == {"plan": "pro"}
    assert warnings["properties.Plan"][:2] == ("unknown_value", "dropped")


def test_the_value_read_so_is_type_checked_as_declared(parser):
    ev, warnings = _parse(parser, {"Days_Left": "three"})
    assert "properties" not in ev.attrs and warnings["properties.days_left"][0] == "wrong_type"


def test_other_names_are_untouched(parser):
    ev, warnings = _parse(parser, {"plan": "pro", "Planet": "mars"})
    assert ev.attrs["properties"] == {"plan": "pro", "Planet": "mars"} and warnings == {}


def test_a_trait_in_another_case_is_kept_as_the_declared_trait(parser):
    ev, warnings = _parse(parser, {}, {"Plan": "trial"})
    assert ev.attrs["traits"] == {"plan": "trial"}
    assert warnings["traits.Plan"][:2] == ("unknown_value", "replaced")


def test_the_journey_fires_on_a_property_sent_as_Plan(tmp_path):
    from tests.scenarios import replay_scenario
    s = Scenario()
    s.records["track"].append({"type": "track", "event": "Trial Ending Soon", "messageId": "m1", "userId": "u1",
                               "timestamp": (T0 + td(hours=1)).isoformat(),
                               "properties": {"Plan": "trial"}, "context": {"traits": {"email": "ann@example.com"}}})
    s.add("consent", td(0), crm_id="u1", channel="email", status="granted")
    (tmp_path / "attributes.yaml").write_text(ATTRS)
    journeys = """version: 1
journeys:
  - id: trial_end
    category: marketing
    priority: 100
    entry: {event: Trial Ending Soon, stream: track, when: "has(event.properties.plan) && event.properties.plan == 'trial'"}
    steps:
      - {id: mail, send: {channel: email, content_id: trial_ending_offer}}
"""
    from journeyflow.pipelines.replay import run_replay
    from tests.scenarios import read_topic
    inp = s.write(tmp_path / "in")
    (tmp_path / "journeys.yaml").write_text(journeys)
    summary = run_replay(["--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end",
                          "--journeys", str(tmp_path / "journeys.yaml"),
                          "--attributes", str(tmp_path / "attributes.yaml")])
    audit = read_topic(tmp_path / "out", "decisions-audit")
    assert [d["journey_id"] for d in decisions_of(audit, "crm:u1")] == ["trial_end"]
    assert summary.field_warnings["unknown_value"] == 1
