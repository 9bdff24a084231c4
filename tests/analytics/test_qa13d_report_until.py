"""qa13d: the report of a replay with ``--until T`` does not call the events after the horizon accepted.

Before: the report's "Inputs of this run" said "accepted events 5 from <first> to <last> (UTC)" from ``run.json``'s
``event_times`` (the events read with a valid time), beside a headline of "decided 3 + dead letters 2": the events
after ``--until`` are ``timestamp_out_of_range`` dead letters, yet the table counted them and their times as
accepted, and nothing said why half the input was dead letters.  Now, when the run decided fewer events than it
read, the table gives both ("events read with a valid time", "events decided: those up to the replay horizon
--until T"), and the headline's accounting names the horizon."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta as td

import pytest

from journeyflow.analytics.report import write_report
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import T0, Scenario

UNTIL = (T0 + td(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa13d_until")
    s = Scenario()
    for day in range(5):  # a page view a day: three up to the horizon (T0 + 2 days included), two after it
        s.add("web", td(days=day), anonymous_id="dev-1", type="page_view", url="/home")
    out = base / "out"
    summary = run_replay(["--input", str(s.write(base / "in")), "--output", str(out), "--until", UNTIL])
    assert summary.reconciles and summary.dead_letters.get("timestamp_out_of_range") == 2
    run = json.loads((out / "run.json").read_text())
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", open(write_report(out)).read(),
                                                         flags=re.S)))
    return re.sub(r"\s+", " ", text), run


def test_events_after_the_horizon_are_not_called_accepted(page):
    text, run = page
    read = run["input"]["event_times"]["count"]
    assert read == 5 and run["summary"]["events_decided"] == 3
    assert f"accepted events {read}" not in text
    assert f"events read with a valid time {read} from" in text
    assert f"events decided 3: those up to the replay horizon --until {UNTIL}" in text


def test_the_headline_names_the_horizon(page):
    text, _ = page
    assert "decided 3 + dead letters 2" in text and f"replayed up to --until {UNTIL}" in text
