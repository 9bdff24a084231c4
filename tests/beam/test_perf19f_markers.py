"""The replay's empty-output markers hang from ``ListFiles`` (one element per input file): no stage of their own
(issue 22).  Markers given once per file still write every topic file and every table's ``_schema.parquet``
once, even when no record was read, and add nothing to a file that has lines."""
from __future__ import annotations

import os

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.tables import TABLES
from journeyflow.pipelines.replay import run_replay


def _outputs(out) -> tuple[dict, list]:
    topics = {t: (out / "topics" / f"{t}.jsonl").read_bytes() for t in ALL_TOPICS}
    schemas = [t for t in TABLES if (out / "tables" / t / "_schema.parquet").is_file()]
    return topics, schemas


def test_no_record_read_still_writes_every_topic_and_schema(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    (data / "crm.jsonl").write_text("\n\n")
    (data / "web.jsonl").write_text("")
    (data / "orders.jsonl").write_text("\n")
    summary = run_replay(["--input", str(data), "--output", str(tmp_path / "out")])
    topics, schemas = _outputs(tmp_path / "out")
    assert summary.records_read == 0
    assert topics == {t: b"" for t in ALL_TOPICS}
    assert schemas == list(TABLES)


def test_markers_from_every_file_add_no_line(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    (data / "crm.jsonl").write_text("not json\n")
    (data / "web.jsonl").write_text("[1]\n")
    (data / "orders.jsonl").write_text("")
    run_replay(["--input", str(data), "--output", str(tmp_path / "out")])
    topics, schemas = _outputs(tmp_path / "out")
    assert schemas == list(TABLES)
    dead = topics.pop("dead-letter")
    assert dead.count(b"\n") == 2 and dead.endswith(b"\n")
    assert all(v == b"" for t, v in topics.items() if t != "field-warnings")
    parts = os.listdir(tmp_path / "out" / "tables" / "dead_letter")
    assert "_schema.parquet" in parts and len(parts) == 2  # the schema and the one date= partition
