"""qa17c: the per-day charts and tables say which days the run covers only in part.

A replay's input rarely starts and ends at UTC midnight: ``generate --start 2026-10-01T15:00:00Z --days 4`` covers
9 hours of its first day and 14 of its last, and a day's export cut at noon covers half of it.  "Messages executed
per day" drew those days as whole ones: the last day's 15 emails after 28 the day before read as a drop in sends (or
the journeys failing) where the input simply ended at 14:21.  Now each day of ``sends_per_day`` and
``conversions_per_day`` in the report carries what part of it the run covers (from the input's first accepted event
to its horizon: ``--until T``, else its last accepted event); the chart draws a partial day's point hollow and says
so, and the table names the part (``partial: from 15:00 UTC``).  With ``--until end`` the days after the last event
hold only the timers that fired after it: said too."""
from __future__ import annotations

import json
import re
from pathlib import Path

from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import TABLES, write_table
from journeyflow.pipelines.output import MANIFEST
from test_quality import DAY, HOUR, T0, _dec

CA = "cart_abandonment"
JOURNEYS = [{"id": CA, "name": "Cart abandonment", "category": "sales", "has_goal": True, "control_group_pct": 10,
             "steps": [{"id": "reminder_email", "kind": "send", "channel": "email"}]}]


def _out(tmp: Path, first: str, last: str, until: str | None = None) -> dict:
    """Sends at 16:00 of day 0, 10:00 of day 1 and 12:00 of day 2 (T0 = 2026-10-05 00:00 UTC); a goal on each
    day; run.json's accepted events from ``first`` to ``last``."""
    r = {t: [] for t in TABLES}
    for i, t in enumerate((T0 + 16 * HOUR, T0 + DAY + 10 * HOUR, T0 + 2 * DAY + 12 * HOUR)):
        r["decisions"].append(_dec(f"d{i}", f"crm:C{i}", t, "send", CA, "reminder_email", "email"))
        r["journey_steps"] += [
            {"customer_id": f"crm:C{i}", "journey_id": CA, "step_id": "reminder_email", "kind": "entered",
             "at": t - HOUR, "trigger_id": f"web/e{i}", "detail": "treatment"},
            {"customer_id": f"crm:C{i}", "journey_id": CA, "step_id": "reminder_email", "kind": "goal",
             "at": t + 1000, "trigger_id": f"orders/o{i}", "detail": "order_placed"}]
    r["customer_snapshots"] = [{"customer_id": f"crm:C{i}", "snapshot_at": T0 + 3 * DAY,
                                "identifiers": [f"crm:C{i}"]} for i in range(3)]
    for name in TABLES:
        write_table(tmp, name, r[name])
    (tmp / MANIFEST).write_text(json.dumps({
        "manifest_version": 1, "journeys": JOURNEYS, "options": {"until": until},
        "input": {"dir": "in", "files": [], "event_times": {"count": 9, "min_iso": first, "max_iso": last}},
        "config": {}, "summary": {}}))
    text = Path(write_report(tmp)).read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                                re.S).group(1))
    return {c["id"]: c for c in data["charts"]}


def _covered(chart: dict) -> dict[str, str]:
    return {r["day"]: r["covered"] for r in chart["data"]}


def test_the_first_and_last_days_of_a_run_that_starts_and_ends_mid_day_are_partial(tmp_path):
    charts = _out(tmp_path, "2026-10-05T15:00:00+00:00", "2026-10-07T14:21:22+00:00")
    for cid in ("sends_per_day", "conversions_per_day"):
        c = charts[cid]
        assert _covered(c) == {"2026-10-05": "partial: from 15:00 UTC", "2026-10-06": "whole day",
                               "2026-10-07": "partial: until 14:21 UTC"}, cid
        assert c["table"]["columns"][-1] == "day covered"
        assert [row[-1] for row in c["table"]["rows"]] == ["partial: from 15:00 UTC", "whole day",
                                                           "partial: until 14:21 UTC"]
        assert "partial" in c["note"] and "hollow" in c["note"]


def test_whole_days_are_whole(tmp_path):
    charts = _out(tmp_path, "2026-10-05T00:00:00+00:00", "2026-10-07T23:59:59.999+00:00")
    assert set(_covered(charts["sends_per_day"]).values()) == {"whole day"}


def test_a_few_minutes_missing_at_either_end_is_a_whole_day(tmp_path):
    """A generated input starts at 00:01 and ends at 23:57: no visible drop, no hollow point."""
    charts = _out(tmp_path, "2026-10-05T00:01:25+00:00", "2026-10-07T23:57:40+00:00")
    assert set(_covered(charts["sends_per_day"]).values()) == {"whole day"}


def test_the_horizon_of_until_ends_the_run_not_its_last_event(tmp_path):
    charts = _out(tmp_path, "2026-10-05T00:00:00+00:00", "2026-10-09T00:00:00+00:00",
                  until="2026-10-07T13:00:00+00:00")
    assert _covered(charts["sends_per_day"])["2026-10-07"] == "partial: until 13:00 UTC"


def test_with_until_end_the_days_after_the_last_event_are_said_to_hold_timers_only(tmp_path):
    charts = _out(tmp_path, "2026-10-05T00:00:00+00:00", "2026-10-06T06:00:00+00:00", until="end")
    assert _covered(charts["sends_per_day"]) == {
        "2026-10-05": "whole day", "2026-10-06": "partial: until 06:00 UTC, then timers only",
        "2026-10-07": "after the input's last event: timers only"}


def test_until_after_the_last_event_leaves_timers_only_after_it(tmp_path):
    charts = _out(tmp_path, "2026-10-05T00:00:00+00:00", "2026-10-06T06:00:00+00:00",
                  until="2026-10-09T00:00:00+00:00")
    assert _covered(charts["sends_per_day"]) == {
        "2026-10-05": "whole day", "2026-10-06": "partial: until 06:00 UTC, then timers only",
        "2026-10-07": "after the input's last event: timers only"}
