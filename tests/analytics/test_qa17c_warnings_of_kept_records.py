"""qa17c: the report's "kept records with an optional field dropped" counts kept records.

Parsing writes a field warning for a record whose optional field is bad, before the record is decided; a record
that then becomes a dead letter -- dated after ``replay --until T`` (``timestamp_out_of_range``: "not decided"), a
``late_event`` or ``processing_error`` in streaming -- keeps its warning row.  The headline read "8 kept records had
an optional field dropped or replaced" on a ``--until 2026-10-05`` replay of ``generate --customers 200 --days
10`` where 5 of the 8 were such dead letters (not kept, not decided), and it counted warning *rows*: a record with
two bad fields was two "records".  Now the headline counts distinct records not dead-lettered afterwards (a
duplicate's first copy was kept: it counts once) and says how many warnings belong to records dead-lettered
later; the field-warnings chart counts the warnings of kept records and its note names the others.  The replay's
summary (``field warnings N (optional fields dropped/replaced, records kept)``) counts those of dead letters apart
too."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta as td

import pytest

from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import read_table
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import T0, Scenario


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa17c_warnings")
    s = Scenario()
    s.contact(-td(days=2), "K1", email="k1@example.com")
    # kept: one bad field (csat), and a record with two bad fields (csat, severity) counted once
    s.add("support", td(0), crm_id="K1", ticket_id="t1", type="ticket_resolved", severity="low", csat="five")
    s.add("support", td(hours=1), crm_id="K1", ticket_id="t2", type="ticket_resolved", severity=7, csat=9)
    # a record sent twice (a retried webhook): its first copy is kept, the second is a duplicate dead letter
    for _ in range(2):
        s.add("support", td(hours=2), event_id="dup-1", crm_id="K1", ticket_id="t3", type="ticket_resolved",
              severity="low", csat="great")
    # dated after the horizon: a timestamp_out_of_range dead letter, not decided
    s.add("support", td(days=2), crm_id="K1", ticket_id="t4", type="ticket_resolved", severity="low", csat="ten")
    inp = s.write(base / "in")
    o = base / "out"
    summary = run_replay(["--input", str(inp), "--output", str(o), "--until", (T0 + td(days=1)).isoformat()])
    assert summary.reconciles
    # the replay's own summary: "field warnings 4 (... records kept)" and those of dead letters apart (was 6): the one
    # after the horizon and the duplicate's second copy (qa17g)
    assert sum(summary.field_warnings.values()) == 4 and summary.field_warnings_of_dead_letters == 2
    assert "+ of dead letters" in summary.render()
    return o


def _data(page):
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                                re.S).group(1).replace("<\\/", "</"))


def test_the_premise_warnings_of_records_dead_lettered_later_are_in_the_table(out):
    rows = read_table(out, "field_warnings").to_pylist()
    uids = [f"{r['stream']}/{r['event_id']}" for r in rows]
    dead = {r["source"]: r["reason"] for r in read_table(out, "dead_letter").to_pylist()}
    assert "timestamp_out_of_range" in {dead.get(u) for u in uids}
    assert len(rows) > len(set(uids))  # a record with two warnings, or a duplicate's second copy


def test_the_headline_counts_kept_records_once(out):
    page = html.unescape(open(write_report(out), encoding="utf-8").read())
    h = _data(page)["headline"]
    assert h["field_warning_records_kept"] == 3  # the csat record, the two-field record, the duplicated one
    assert h["field_warnings_of_dead_letters"] == 2  # the one after the horizon, the duplicate's copy (qa17g)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))
    assert "3 kept records had an optional field dropped or replaced" in text
    assert "2 field warnings of records dead-lettered after they were read" in text


def test_the_chart_counts_the_warnings_of_kept_records(out):
    page = html.unescape(open(write_report(out), encoding="utf-8").read())
    chart = next(c for c in _data(page)["charts"] if c["id"] == "field_warnings")
    rows = read_table(out, "field_warnings").to_pylist()
    assert sum(r[3] for r in chart["table"]["rows"]) == len(rows) - 2
    assert "dead-lettered" in chart["note"]
