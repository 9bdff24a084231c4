"""qa13d: a decision's reason codes are a documented, closed list an execution tool can rely on.

Before: the decision topics' schemas (``schemas/topics/decisions-*.schema.json``) let ``reason_codes`` of an audit
decision and the ``reason`` of every listed candidate be *any* string (the dead-letter and field-warning schemas
enumerate their reasons, the decisions did not), and the README named no reason code: an operator mapping
suppressions to actions could not know the list, and a renamed code passed every contract check.  Now both are an
``enum`` of ``stages/arbitration/reasons.REASON_CODES`` (``chosen`` too for ``reason_codes``), and README "Decision
messages" lists every code."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from journeyflow.model.decisions import AUDIT_TOPIC, TOPIC_FOR_TARGET
from journeyflow.stages.arbitration.reasons import CHOSEN, REASON_CODES

ROOT = Path(__file__).resolve().parents[2]
DECISION_TOPICS = sorted({AUDIT_TOPIC, *TOPIC_FOR_TARGET.values()})


def _schema(topic: str) -> dict:
    return json.loads((ROOT / "schemas" / "topics" / f"{topic}.schema.json").read_text())


def _message(topic: str) -> dict:
    """A valid message of ``topic`` (one of each kind the schema describes), one candidate listed."""
    s = _schema(topic)
    props = s["properties"]
    action = props["action"].get("const", "suppress")
    channel = props["channel"].get("const")
    m = {"decision_id": "d_" + "0" * 24, "customer_id": "crm:C1", "decided_at": 1791028800000,
         "journey_id": "j" if action != "suppress" else None, "step_id": "s" if action != "suppress" else None,
         "action": action, "channel": channel, "content_id": "c",
         "category": "service" if action in ("create_task", "route_case") else "marketing" if action == "send" else None,
         "priority": 1, "reason_codes": [CHOSEN if action != "suppress" else "consent"],
         "candidates": [{"journey_id": "j2", "step_id": "s2", "action": "send", "channel": "email",
                         "content_id": "c2", "category": "marketing", "priority": 0, "reason": "consent"}],
         "trigger_event_id": "web/w1", "address_key": None}
    if "address" in props:
        m["address"] = "ann@example.com" if channel == "email" else "+14155550134" if channel in ("sms", "call") \
            else "C1" if channel == "push" else None
        m["address_key"] = {"email": "email:" + "a" * 32, "push": "crm:C1"}.get(
            channel, "phone:" + "a" * 32 if m["address"] else None)
    if "context" in props:
        needs = s["$defs"].get("context", {}).get("required", [])
        m["context"] = {k: v for k, v in (("ticket_history", []),
                                          ("customer_value", {"orders_90d": 0, "revenue_90d": 0})) if k in needs}
    for k in list(m):
        if k not in props:
            del m[k]
    return m


def _valid(topic: str, m: dict) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(_schema(topic)).iter_errors(m)]


@pytest.mark.parametrize("topic", DECISION_TOPICS)
def test_a_candidates_reason_is_one_of_the_documented_codes(topic):
    s = _schema(topic)
    assert s["$defs"]["candidate"]["properties"]["reason"]["enum"] == list(REASON_CODES)
    m = _message(topic)
    assert _valid(topic, m) == [], _valid(topic, m)
    m["candidates"][0]["reason"] = "made_up_reason"
    assert _valid(topic, m), f"{topic} accepts a candidate reason that is no reason code"


def test_the_audit_reason_codes_are_chosen_or_a_documented_code():
    s = _schema(AUDIT_TOPIC)
    assert s["properties"]["reason_codes"]["items"]["enum"] == [CHOSEN, *REASON_CODES]
    m = _message(AUDIT_TOPIC)
    for code in (CHOSEN, *REASON_CODES):
        m["reason_codes"] = [code]
        assert _valid(AUDIT_TOPIC, m) == []
    m["reason_codes"] = ["consent", "opted_out"]
    assert _valid(AUDIT_TOPIC, m)


def test_the_readme_lists_every_reason_code():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Decision messages", 1)[1].split("\n### ", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)`", section.split("**Reason codes**", 1)[1]))
    assert {CHOSEN, *REASON_CODES} <= listed
