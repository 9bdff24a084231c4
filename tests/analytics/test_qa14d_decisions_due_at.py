"""qa14d: the ``decisions`` table says when a deferred send is due (``due_at``).

Before: only the audit message of a ``wait`` decision carried ``due_at``; the ``decisions`` table had no such column
(Parquet and BigQuery rows dropped it), so an analyst could not ask "which sends are held, until when" in SQL.  Now
``decisions.due_at`` (TIMESTAMP, NULLABLE, the last column: a compatible BigQuery schema change) holds it on a
``wait`` and is NULL on every other decision; outputs written before the column read it as NULL (``query``,
``report``, ``validate``), and the BigQuery sink inserts with ``ignore_unknown_columns`` so that a table an older
job created (without the column) does not refuse the rows, which Beam would retry for ever."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta as td, timezone
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeyflow.analytics.query import query
from journeyflow.analytics.tables import read_table, table_dir
from journeyflow.model.tables import arrow_schema, table_spec
from journeyflow.stages.journeys import control_bucket
from tests.scenarios import Scenario, decisions_of, replay_scenario

H, D, M = td(hours=1), td(days=1), td(minutes=1)
ROOT = Path(__file__).resolve().parents[2]


def _treated(prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(10_000) if control_bucket("cart_abandonment", f"web/{prefix}-{i}") >= 1000)


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    s = Scenario()
    # cart at 20:30 BST: the reminder email falls due at 21:30, in quiet hours: deferred to 08:00 London
    s.contact(-30 * D, "NIGHT", email="night@example.com", tz="Europe/London")
    s.add("web", 9 * H + 30 * M, anonymous_id="dev-night", user_id="NIGHT", type="add_to_cart", product_id="LAMP",
          event_id=_treated("night"))
    _, audit, out = replay_scenario(s, tmp_path_factory.mktemp("qa14d_due_at"))
    return decisions_of(audit, "crm:NIGHT"), out


def test_the_decisions_table_holds_the_due_time_of_a_wait(replay):
    audit, out = replay
    waits = {d["decision_id"]: d["due_at"] for d in audit if d["action"] == "wait"}
    assert waits
    rows = query(out, "SELECT decision_id, action, epoch_ms(due_at) AS due FROM decisions "
                      "WHERE customer_id = 'crm:NIGHT'").to_pylist()
    assert {r["decision_id"]: r["due"] for r in rows if r["action"] == "wait"} == waits
    assert [r for r in rows if r["action"] != "wait" and r["due"] is not None] == []
    sends = [r for r in rows if r["action"] == "send"]
    assert sends and all(r["due"] is None for r in sends)


def test_the_column_is_a_compatible_schema_change():
    old = json.loads((ROOT / "schemas" / "bigquery" / "decisions.json").read_text())["fields"]
    assert old[-1]["name"] == "due_at" and old[-1]["mode"] == "NULLABLE" and old[-1]["type"] == "TIMESTAMP"
    assert table_spec("decisions")["fields"][-1]["name"] == "due_at"


def _old_output(base: Path) -> Path:
    """A replay output written before ``due_at`` existed: the decisions Parquet files without the column."""
    out = base / "old"
    schema = pa.schema([f for f in arrow_schema("decisions") if f.name != "due_at"])
    path = table_dir(out, "decisions")
    (path / "date=2026-10-01").mkdir(parents=True)
    pq.write_table(schema.empty_table(), path / "_schema.parquet")
    t0 = int(datetime(2026, 10, 1, 9, tzinfo=timezone.utc).timestamp() * 1000)
    rows = [{"decision_id": f"d_{i}", "customer_id": "crm:C1", "decided_at": t0 + i, "journey_id": "welcome",
             "step_id": "welcome_email", "action": a, "channel": "email", "content_id": None,
             "category": "marketing", "priority": 10, "reason_codes": [], "candidates": [],
             "trigger_event_id": f"web/e{i}", "address_key": None} for i, a in enumerate(("wait", "send"))]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path / "date=2026-10-01" / "part-00000.parquet")
    return out


def test_an_output_written_before_the_column_reads_it_as_null(tmp_path):
    out = _old_output(tmp_path)
    t = read_table(out, "decisions")
    assert t.schema == arrow_schema("decisions") and t.column("due_at").null_count == 2
    assert query(out, "SELECT count(*) AS n, count(due_at) AS due FROM decisions").to_pylist() == [{"n": 2, "due": 0}]


def test_a_bigquery_row_of_a_wait_has_due_at_in_seconds(replay):
    from journeyflow.model.decisions import Decision
    from journeyflow.model.tables import decision_row
    from journeyflow.transforms.sinks.bigquery import bigquery_row
    audit, _ = replay
    w = next(d for d in audit if d["action"] == "wait")
    fields = {k: w.get(k) for k in Decision._fields if k in w}
    fields["reason_codes"], fields["candidates"] = tuple(w["reason_codes"]), ()
    row = bigquery_row("decisions", decision_row(Decision(**fields)))
    assert row["due_at"] == w["due_at"] / 1000.0 and set(row) <= set(arrow_schema("decisions").names)


def _built_writes(table: str) -> list:
    from apache_beam.io.gcp.bigquery import WriteToBigQuery
    from journeyflow.transforms.sinks.bigquery import WriteTablesToBigQuery
    p = beam.Pipeline()
    _ = p | beam.Create([{}]) | WriteTablesToBigQuery("my-project:journeyflow", table)
    found = []

    class Visit(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            if isinstance(node.transform, WriteToBigQuery):
                found.append(node.transform)
    p.visit(Visit())
    return found


@pytest.mark.parametrize("table", ["decisions", "journey_steps"])
def test_a_table_an_older_job_created_takes_the_rows_without_the_new_column(table):
    writes = _built_writes(table)
    assert len(writes) == 1 and writes[0]._ignore_unknown_columns is True


# ---------------------------------------------------------------- the Avro schemas of the output messages
def _avro(name: str):
    import fastavro
    return fastavro.parse_schema(json.loads((ROOT / "schemas" / name).read_text()))


def _round_trip(message: dict, schema) -> dict:
    import fastavro
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, message)
    buf.seek(0)
    return fastavro.schemaless_reader(buf, schema)


def test_every_audit_message_survives_the_avro_schema(replay):
    """Before: ``schemas/decision.avsc`` had no ``due_at``: a wait's audit message validated (fastavro ignores
    extra fields) but a consumer reading the topic through the Avro schema lost when the send is due."""
    audit, _ = replay
    schema = _avro("decision.avsc")
    for m in audit:
        back = _round_trip(m, schema)
        assert {k: back.get(k, "<missing>") for k in m} == m


def test_the_avro_schemas_name_every_field_of_their_messages():
    from journeyflow.model.dead_letters import DeadLetter
    from journeyflow.model.decisions import Decision
    fields = {f["name"] for f in json.loads((ROOT / "schemas" / "decision.avsc").read_text())["fields"]}
    wait = Decision("d_1", "crm:C1", 1, "j", "s", "wait", "email", None, "sales", 1, (), (), "web/e1", due_at=2)
    assert set(wait.to_dict()) <= fields
    dl_fields = {f["name"] for f in json.loads((ROOT / "schemas" / "dead_letter.avsc").read_text())["fields"]}
    assert set(DeadLetter("web", "bad_timestamp", "d", "p", "s", 1, {"a": "b"}).to_dict()) <= dl_fields


def test_the_deploy_texts_name_every_analyst_table():
    """Before: the Dataflow template's ``tables`` parameter named five tables (not customer_snapshots and
    field_warnings, which the job writes too) and the Terraform dataset's description six."""
    from journeyflow.model.tables import TABLES
    meta = json.loads((ROOT / "deploy" / "dataflow" / "metadata.json").read_text())
    help_text = next(p["helpText"] for p in meta["parameters"] if p["name"] == "tables")
    tf = (ROOT / "deploy" / "terraform" / "main.tf").read_text()
    described = next(line for line in tf.splitlines() if "journeyflow analyst tables (" in line)
    for name in TABLES:
        assert name in help_text
        assert name.replace("_", " ") in described  # ("dead letter" in "dead letters")


def test_why_no_cart_reminder_says_until_when_a_reminder_is_deferred(replay):
    """Before: a reminder held by quiet hours (a wait decision: not a suppressed candidate) was not in the example
    at all, so "why no cart reminder (yet)?" had no answer while it was held."""
    from journeyflow.analytics.query import run_example
    audit, out = replay
    due = {d["decision_id"]: d["due_at"] for d in audit if d["action"] == "wait"}
    rows = run_example(out, "why_no_cart_reminder", {"customer_id": "crm:NIGHT"}).to_pylist()
    deferred = [r for r in rows if r["what"] == "deferred"]
    assert deferred and all(r["decision_action"] == "wait" and r["reason"] == "quiet_hours_deferred"
                            and r["step_id"] == "reminder_email" for r in deferred)
    assert sorted(int(r["deferred_until"].timestamp() * 1000) for r in deferred) == sorted(due.values())
    assert all(r["deferred_until"] is None for r in rows if r["what"] != "deferred")


def test_report_and_validate_read_an_output_written_before_the_column(tmp_path):
    from journeyflow.analytics.quality import validate_output
    from journeyflow.analytics.report import write_report
    out = _old_output(tmp_path)
    page = Path(write_report(out)).read_text()
    assert "actions executed" in page
    failed = [c for c in validate_output(out).results if not c.success and c.table == "decisions"]
    assert [c.check for c in failed if "due_at" in (c.column or "")] == []


@pytest.mark.parametrize("table, topic", [("decisions", "decisions-audit"), ("dead_letter", "dead-letter"),
                                          ("field_warnings", "field-warnings")])
def test_every_field_of_a_topic_message_is_a_column_of_its_table(table, topic):
    """The kind of the due_at gap: a field the message carries that its table drops."""
    props = json.loads((ROOT / "schemas" / "topics" / f"{topic}.schema.json").read_text())["properties"]
    assert sorted(set(props) - set(arrow_schema(table).names)) == []
