"""qa13d: a send deferred by quiet hours says when it is due.

Before: the ``wait`` decision of a deferred send (reason ``quiet_hours_deferred``, on ``decisions-audit``) said
when it was decided and nothing about when the send would be decided again: an operator watching the audit topic (or
a scheduling dashboard) could not tell a send held until 08:00 local from one held for days.  Now the audit message
of every ``wait`` carries ``due_at`` (epoch ms, the end of the customer's quiet hours: when the deferred candidate is
decided again, and the ``decided_at`` of that later decision); the audit schema requires it on a ``wait`` and
forbids it elsewhere.  (qa14d: the ``decisions`` table has a ``due_at`` column too, test_qa14d_decisions_due_at.)"""
from __future__ import annotations

import json
from datetime import datetime, timedelta as td, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from journeyflow.model.decisions import AUDIT_TOPIC
from journeyflow.model.tables import arrow_schema, decision_row, to_arrow
from journeyflow.stages.journeys import control_bucket
from tests.scenarios import Scenario, decisions_of, replay_scenario

H, D, M = td(hours=1), td(days=1), td(minutes=1)
LONDON = ZoneInfo("Europe/London")
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "topics" /
                     f"{AUDIT_TOPIC}.schema.json").read_text())


def _treated(prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(10_000) if control_bucket("cart_abandonment", f"web/{prefix}-{i}") >= 1000)


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()
    # cart at 20:30 BST (19:30 UTC): the reminder email falls due at 21:30, in quiet hours: deferred to 08:00 London
    s.contact(-30 * D, "NIGHT", email="night@example.com", tz="Europe/London")
    s.add("web", 9 * H + 30 * M, anonymous_id="dev-night", user_id="NIGHT", type="add_to_cart", product_id="LAMP",
          event_id=_treated("night"))
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa13d_wait_due"))
    return decisions_of(audit, "crm:NIGHT")


def test_a_deferred_send_carries_the_time_it_is_due(audit):
    waits = [d for d in audit if d["action"] == "wait"]
    assert waits and waits[0]["reason_codes"] == ["quiet_hours_deferred"]
    w = waits[0]
    due = datetime.fromtimestamp(w["due_at"] / 1000, timezone.utc).astimezone(LONDON)
    assert (due.hour, due.minute) == (8, 0) and w["due_at"] > w["decided_at"]
    later = [d for d in audit if d["step_id"] == w["step_id"] and d["action"] == "send"]
    assert [d["decided_at"] for d in later] == [w["due_at"]]


def test_the_audit_schema_requires_due_at_on_a_wait_only(audit):
    v = jsonschema.Draft202012Validator(SCHEMA)
    for d in audit:
        assert list(v.iter_errors(d)) == [], d
        assert ("due_at" in d) == (d["action"] == "wait")
    w = next(d for d in audit if d["action"] == "wait")
    assert list(v.iter_errors({k: x for k, x in w.items() if k != "due_at"}))
    send = next(d for d in audit if d["action"] == "send")
    assert list(v.iter_errors({**send, "due_at": w["due_at"]}))


def test_the_decisions_table_keeps_its_columns(audit):
    from journeyflow.model.decisions import Decision
    w = next(d for d in audit if d["action"] == "wait")
    fields = {k: w.get(k) for k in Decision._fields if k in w}
    fields["reason_codes"], fields["candidates"] = tuple(w["reason_codes"]), ()
    row = decision_row(Decision(**fields))
    assert row["due_at"] == w["due_at"]
    assert to_arrow("decisions", [row]).schema == arrow_schema("decisions")


def test_a_bigquery_row_holds_only_the_tables_columns(audit):
    from journeyflow.model.decisions import Decision
    from journeyflow.transforms.sinks.bigquery import bigquery_row
    w = next(d for d in audit if d["action"] == "wait")
    fields = {k: w.get(k) for k in Decision._fields if k in w}
    fields["reason_codes"], fields["candidates"] = tuple(w["reason_codes"]), ()
    row = bigquery_row("decisions", decision_row(Decision(**fields)))
    assert set(row) <= set(arrow_schema("decisions").names)
    assert row["decided_at"] == w["decided_at"] / 1000.0
