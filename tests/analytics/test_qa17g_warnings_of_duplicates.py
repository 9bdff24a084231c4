"""qa17g: a field warning of a record's duplicate copy is not a kept record's.

Input: crm.jsonl with k-1 (a bad time zone), k-2 (a bad time zone, dated after ``--until``), k-1 again.  Parsing
warns on all three lines; k-2 is a ``timestamp_out_of_range`` dead letter, the second k-1 a ``duplicate_event`` one.
The replay summary said "field warnings 3 (... records kept)" and the report "3 kept records had an optional field
dropped"; with the horizon's dead letters counted apart (qa17c) the duplicate's copy was still called kept ("2 ...
records kept" for one).  Now: 1 kept, 2 of records dead-lettered after they were read, 1 + 2 = the 3 warnings."""
from __future__ import annotations

import html
import json
import re

import pytest

from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import read_table
from journeyflow.pipelines.replay import run_replay

LINE = {"ts": "2026-10-01T10:00:00Z", "type": "contact_created", "lifecycle_stage": "customer",
        "timezone": "Mars/Olympus", "owner_id": "owner-01"}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa17g_dups")
    (base / "in").mkdir()
    k1 = {**LINE, "event_id": "k-1", "crm_id": "C1", "email": "c1@example.com"}
    k2 = {**LINE, "event_id": "k-2", "crm_id": "C2", "email": "c2@example.com", "ts": "2026-10-03T10:00:00Z"}
    (base / "in" / "crm.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (k1, k2, k1)))
    o = base / "out"
    summary = run_replay(["--input", str(base / "in"), "--output", str(o), "--until", "2026-10-02T00:00:00Z"])
    assert summary.reconciles and summary.dead_letters == {"duplicate_event": 1, "timestamp_out_of_range": 1}
    return o, summary


def test_the_premise_every_line_was_warned(out):
    o, _ = out
    assert len(read_table(o, "field_warnings")) == 3


def test_the_replay_summary_counts_the_duplicate_copy_apart(out):
    _, summary = out
    assert sum(summary.field_warnings.values()) == 1 and summary.field_warnings_of_dead_letters == 2
    text = summary.render()
    assert re.search(r"field warnings\s+1\s+\(", text) and re.search(r"\+ of dead letters\s+2\b", text), text


def test_the_report_says_one_kept_record_and_two_warnings_of_dead_letters(out):
    o, _ = out
    page = html.unescape(open(write_report(o), encoding="utf-8").read())
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                                re.S).group(1).replace("<\\/", "</"))
    h = data["headline"]
    assert (h["field_warning_records_kept"], h["field_warnings_of_dead_letters"]) == (1, 2)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))
    assert "1 kept record had an optional field dropped or replaced" in text
    assert "2 field warnings of records dead-lettered after they were read" in text
    chart = next(c for c in data["charts"] if c["id"] == "field_warnings")
    assert sum(r[3] for r in chart["table"]["rows"]) == 1
