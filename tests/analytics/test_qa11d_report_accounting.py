"""qa11d: the report shows where every input record went, and the optional fields it dropped.

Before: the headline said "133 dead letters" without the records read they are out of, and without the check the
replay prints (read = decided + dead letters); the field warnings (optional fields dropped or replaced, records
kept) were not in the report at all, though the replay's summary lists them by reason.  Now the headline says
``records read R = decided D + dead letters L`` (from ``run.json``; the dead-letter table's count beside it when
they differ) and a "Field warnings" chart gives them by reason, stream and field."""
from __future__ import annotations

import html
import json
import re
import shutil
from collections import Counter
from datetime import timedelta as td

import pytest

from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import read_table
from journeyflow.pipelines.output import MANIFEST
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import Scenario


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa11d_accounting")
    s = Scenario()
    s.contact(-td(days=2), "CA1", email="ca1@example.com")
    s.add("crm", -td(days=1), crm_id="CA2", email="ca2@example.com", type="contact_created",
          lifecycle_stage="customer", timezone="Mars/Olympus_Mons", owner_id="o1")
    s.add("support", td(0), crm_id="CA1", ticket_id="t1", type="ticket_resolved", severity="low", csat="five")
    s.add("support", td(hours=1), crm_id="CA1", ticket_id="t2", type="ticket_resolved", severity="low", csat=9)
    inp = s.write(base / "in")
    with open(inp / "web.jsonl", "a") as f:
        f.write("{not json\n")
        f.write(json.dumps({"event_id": "w9", "ts": "yesterday", "anonymous_id": "a9", "type": "page_view"}) + "\n")
    o = base / "out"
    summary = run_replay(["--input", str(inp), "--output", str(o), "--until", "end"])
    assert summary.reconciles and sum(summary.dead_letters.values()) == 2
    return o


def _page(path):
    return html.unescape(open(path, encoding="utf-8").read())


def _data(page):
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                                re.S).group(1).replace("<\\/", "</"))


def _text(page):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))


def test_the_headline_shows_read_equals_decided_plus_dead_letters(out):
    run = json.loads((out / MANIFEST).read_text())["summary"]
    text = _text(_page(write_report(out)))
    want = (f"records read {run['records_read']:,} = decided {run['events_decided']:,} + dead letters "
            f"{run['dead_letters']:,}")
    assert want in text


def test_field_warnings_are_in_the_report_by_reason_stream_and_field(out):
    warnings = read_table(out, "field_warnings").to_pylist()
    assert len(warnings) == 3
    data = _data(_page(write_report(out)))
    chart = next(c for c in data["charts"] if c["id"] == "field_warnings")
    got = {(r[0], r[1], r[2]): r[3] for r in chart["table"]["rows"]}
    assert got == dict(Counter((w["reason"], w["stream"], w["field"]) for w in warnings))
    assert data["headline"]["field_warnings"] == 3


def test_a_dead_letter_table_that_disagrees_with_the_run_is_said(out, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    for part in (copy / "tables" / "dead_letter").glob("date=*"):
        shutil.rmtree(part)  # a copy that lost the dead letters' partitions
    text = _text(_page(write_report(copy)))
    assert "dead letters 2" in text and "the dead_letter table holds 0" in text


def test_suppressed_tasks_are_not_called_messages(tmp_path):
    """A suppressed create_task / route_case candidate was counted under "messages not sent" without a word; now
    the card says how many of them were tasks or cases."""
    from journeyflow.analytics.tables import write_table
    from journeyflow.model.tables import TABLES
    rows = {t: [] for t in TABLES}
    base = {"customer_id": "crm:A", "decided_at": 1_790_848_800_000, "journey_id": "j", "step_id": "s",
            "content_id": "c", "category": "sales", "priority": 600, "reason": "open_ticket",
            "trigger_event_id": "web/e"}
    rows["suppressed_candidates"] = [{**base, "decision_id": "d1", "action": "send", "channel": "email"},
                                     {**base, "decision_id": "d2", "action": "create_task", "channel": "crm_task"},
                                     {**base, "decision_id": "d3", "action": "route_case",
                                      "channel": "service_case"}]
    for t in TABLES:
        write_table(tmp_path, t, rows[t])
    page = _page(write_report(tmp_path))
    cards = dict((html.unescape(label), int(n)) for n, label in
                 re.findall(r'<div class="n">([0-9,]+)</div><div class="l">(.*?)</div>', page))
    label = next(k for k in cards if k.startswith("messages not sent"))
    assert cards[label] == 3 and "2 of them tasks or cases" in label
