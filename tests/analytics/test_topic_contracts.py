"""Every topic a consumer reads has a documented contract in ``schemas/topics/`` — payload *and* Pub/Sub attributes
(QA round 2 of issue 20, "decision messages as an execution tool uses them").

Before: the ``dead-letter`` and ``field-warnings`` topics (read by operators and by the Pub/Sub tooling) had no
schema at all, and the attributes every message carries (what a subscription filter or a de-duplicating consumer
uses) were only named in a sentence, without their values: ``journey_id`` is ``""`` on an audit decision without a
journey, ``decided_at`` is epoch ms as decimal text.  Now each schema has an ``x-pubsub-attributes`` object schema;
this test validates real messages of a replay (payloads) and the messages the pipelines publish (attributes, from
the one builder both pipelines use) against them."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from journeyflow.model.decisions import AUDIT_TOPIC, DEAD_LETTER_TOPIC, FIELD_WARNINGS_TOPIC, Candidate
from journeyflow.model.reasons import DeadLetterReason, FieldWarningReason
from journeyflow.stages.arbitration.records import decisions_of
from journeyflow.transforms.outputs import dead_letter_message, decision_messages, field_warning_message
from tests.scenarios import read_topic

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "topics"
T0 = int(datetime(2026, 10, 5, 12, tzinfo=timezone.utc).timestamp() * 1000)


def _schema(topic: str) -> dict:
    schema = json.loads((SCHEMAS / f"{topic}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(schema["x-pubsub-attributes"])
    return schema


def _errors(schema: dict, obj: dict) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """A generated population (malformed lines of every kind the generator writes) plus duplicates and a record
    after the replay horizon, replayed."""
    from journeyflow.pipelines.replay import run_replay
    from journeyflow.tools.generator import generate
    base = tmp_path_factory.mktemp("contracts")
    generate(120, 5, 11, str(base / "in"))
    web = base / "in" / "web.jsonl"
    first = web.read_text().splitlines()[0]
    with open(web, "a") as f:
        f.write(first + "\n")  # a duplicate event
        f.write(json.dumps({"event_id": "late-1", "ts": "2026-12-31T00:00:00Z", "anonymous_id": "dev-late",
                            "type": "page_view"}) + "\n")
    summary = run_replay(["--input", str(base / "in"), "--output", str(base / "out"),
                          "--until", "2026-10-20T00:00:00Z"])
    assert summary.reconciles
    return base / "out"


@pytest.mark.parametrize("topic", [DEAD_LETTER_TOPIC, FIELD_WARNINGS_TOPIC])
def test_dead_letter_and_field_warning_messages_validate(out, topic):
    schema = _schema(topic)
    messages = read_topic(out, topic)
    assert messages
    for m in messages:
        assert _errors(schema, m) == [], m
    if topic == DEAD_LETTER_TOPIC:
        assert {"duplicate_event", "timestamp_out_of_range", "invalid_json"} <= {m["reason"] for m in messages}


def test_the_schemas_know_every_reason():
    dead, warn = _schema(DEAD_LETTER_TOPIC), _schema(FIELD_WARNINGS_TOPIC)
    assert set(dead["properties"]["reason"]["enum"]) == {str(r) for r in DeadLetterReason}
    assert set(warn["properties"]["reason"]["enum"]) == {str(r) for r in FieldWarningReason}


def _cand(journey: str, step: str, channel: str, action: str = "send") -> Candidate:
    return Candidate(journey, step, "marketing", 300, action, channel, f"{step}_c", f"web/{journey}", T0)


def test_attributes_of_every_published_message_follow_the_documented_contract(out):
    decisions = []
    decisions += decisions_of([(_cand("cart_abandonment", "reminder_email", "email"), 0)],
                              [(_cand("browse_abandonment", "browse_push", "push"), "lower_priority")],
                              T0, "crm:C1", "web/e1")
    decisions += decisions_of([(_cand("service_escalation", "owner_task", "crm_task", "create_task"), 0)], [],
                              T0, "crm:C2", "support/t1")
    decisions += decisions_of([(_cand("cart_abandonment", "reminder_email", "email"), T0 + 3_600_000)], [],
                              T0, "anon:dev-3", "web/e3")
    decisions += decisions_of([], [(_cand("cart_abandonment", "reminder_email", "email"), "consent"),
                                   (_cand("browse_abandonment", "browse_email", "email"), "consent")],
                              T0, "email:" + "a" * 32, "web/e4")  # a suppress without a journey of its own
    decisions += decisions_of([], [(_cand("winback", "winback_email", "email")._replace(control=True),
                                    "control_group")], T0, "crm:C5", "timer/t5")
    assert {d.action for d in decisions} == {"send", "create_task", "wait", "suppress", "none"}
    messages = [m for d in decisions for m in decision_messages(d)]
    from journeyflow.model.dead_letters import DeadLetter
    from journeyflow.model.field_warnings import FieldWarning
    for row in read_topic(out, DEAD_LETTER_TOPIC)[:50]:
        messages.append(dead_letter_message(DeadLetter(**{**row, "reason": DeadLetterReason(row["reason"])})))
    for row in read_topic(out, FIELD_WARNINGS_TOPIC)[:50]:
        messages.append(field_warning_message(FieldWarning(**{**row, "reason": FieldWarningReason(row["reason"])})))
    seen = set()
    for m in messages:
        schema = _schema(m.topic)  # (payloads: validated on a replay's messages above and in test_topic_messages)
        attrs = dict(m.attributes)
        assert all(isinstance(v, str) for v in attrs.values())
        assert _errors(schema["x-pubsub-attributes"], attrs) == [], (m.topic, attrs)
        payload = json.loads(m.data)
        for name in attrs:  # an attribute repeats its payload field (as text)
            assert attrs[name] == ("" if payload.get(name) is None else str(payload[name])), (m.topic, name)
        seen.add(m.topic)
    assert {AUDIT_TOPIC, DEAD_LETTER_TOPIC, FIELD_WARNINGS_TOPIC, "decisions-email", "decisions-crm-task"} <= seen
