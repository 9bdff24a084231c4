"""The HTML report: self-contained, one Vega-Altair SVG per chart, figures that match the tables (arms from the
randomized assignment, steps in journey order, "no goal"), inputs from run.json, and it opens in headless Chromium
without console errors."""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from journeyflow.analytics.outcomes import uplift_interval, wilson_interval
from journeyflow.analytics.query import run_example
from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import TABLES, write_table
from journeyflow.cli.report import add_args as add_report_args, run as cli_report
from journeyflow.pipelines.output import MANIFEST
from test_quality import T0, HOUR, DAY, _dec

CHROMIUM = "/usr/bin/chromium"
CA, WE = "cart_abandonment", "welcome"
JOURNEYS = [
    {"id": CA, "name": "Cart abandonment", "category": "sales", "has_goal": True, "control_group_pct": 10,
     "steps": [{"id": "wait_1h", "kind": "wait", "channel": None},
               {"id": "reminder_email", "kind": "send", "channel": "email"},
               {"id": "wait_23h", "kind": "wait", "channel": None},
               {"id": "reminder_sms", "kind": "send", "channel": "sms"}]},
    {"id": WE, "name": "Welcome", "category": "marketing", "has_goal": False, "control_group_pct": 0,
     "steps": [{"id": "welcome_email", "kind": "send", "channel": "email"}]},
]


def _step(cid, jid, kind, at, step=None, detail=None, trig="web/e"):
    return {"customer_id": cid, "journey_id": jid, "step_id": step, "kind": kind, "at": at,
            "trigger_id": f"{trig}{at}", "detail": detail}


def _sup(decision, cid, at, jid, step, channel, reason):
    return {"decision_id": decision, "customer_id": cid, "decided_at": at, "journey_id": jid, "step_id": step,
            "action": "send", "channel": channel, "content_id": "c", "category": "sales", "priority": 600,
            "reason": reason, "trigger_event_id": "web/e"}


def rows() -> dict[str, list[dict]]:
    """A: control, converts; B: treatment, emailed, converts; C: treatment, no consent; D: treatment (entered as an
    anonymous id later merged into crm:D; a later 'entered' row says control: the first entry's arm counts); E: the
    welcome journey (no goal)."""
    r = {t: [] for t in TABLES}
    r["journey_steps"] = [
        _step("crm:A", CA, "entered", T0, "wait_1h", "control"), _step("crm:A", CA, "waiting", T0, "wait_1h"),
        _step("crm:A", CA, "step", T0 + HOUR, "reminder_email"), _step("crm:A", CA, "goal", T0 + 2 * HOUR),
        _step("crm:B", CA, "entered", T0, "wait_1h", "treatment"), _step("crm:B", CA, "step", T0 + HOUR,
                                                                        "reminder_email"),
        _step("crm:B", CA, "goal", T0 + DAY), _step("crm:C", CA, "entered", T0, "wait_1h", "treatment"),
        _step("crm:C", CA, "step", T0 + HOUR, "reminder_email"),
        _step("anon:d", CA, "entered", T0, "wait_1h", "treatment"),
        _step("crm:D", CA, "entered", T0 + 8 * DAY, "wait_1h", "control"),
        _step("crm:D", CA, "step", T0 + 8 * DAY + HOUR, "reminder_sms"),
        _step("crm:E", WE, "entered", T0 + DAY, "welcome_email", "treatment"),
        _step("crm:E", WE, "step", T0 + DAY, "welcome_email")]
    r["decisions"] = [
        _dec("d1", "crm:B", T0 + HOUR, "send", CA, "reminder_email", "email"),
        _dec("d2", "crm:A", T0 + HOUR, "none", None, None, None),
        _dec("d3", "crm:C", T0 + HOUR, "suppress", None, None, None),
        _dec("d4", "crm:D", T0 + 8 * DAY + HOUR, "wait", CA, "reminder_sms", "sms"),
        _dec("d5", "crm:E", T0 + DAY, "send", WE, "welcome_email", "email")]
    r["suppressed_candidates"] = [_sup("d2", "crm:A", T0 + HOUR, CA, "reminder_email", "email", "control_group"),
                                  _sup("d3", "crm:C", T0 + HOUR, CA, "reminder_email", "email", "consent")]
    r["customer_snapshots"] = [{"customer_id": f"crm:{c}", "snapshot_at": T0 + 9 * DAY,
                                "identifiers": [f"crm:{c}"] + (["anon:d"] if c == "D" else [])} for c in "ABCDE"]
    r["dead_letter"] = [{"stream": "web", "reason": "invalid_json", "detail": "x", "payload": "{", "source": "w:1",
                         "event_time": None},
                        {"stream": "orders", "reason": "bad_timestamp", "detail": "x", "payload": "{}",
                         "source": "o:3", "event_time": None}]
    return r


def build(out: Path, manifest: bool = True) -> Path:
    data = rows()
    for name in TABLES:
        write_table(out, name, data[name])
    (out / "topics").mkdir(exist_ok=True)
    if manifest:
        (out / MANIFEST).write_text(json.dumps({
            "manifest_version": 1, "journeys": JOURNEYS, "options": {"until": None},
            "input": {"dir": "data/x", "files": [{"stream": "web", "name": "web.jsonl", "bytes": 10,
                                                  "sha256": "ab" * 32}],
                      "event_times": {"count": 12, "min_iso": "2026-10-05T00:00:00+00:00",
                                      "max_iso": "2026-10-14T00:00:00+00:00"}},
            "config": {"journeys": {"source": "j.yaml", "sha256": "cd" * 32}}, "summary": {"reconciles": True}}))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = build(tmp_path_factory.mktemp("report"))
    path = Path(write_report(out))
    text = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                                re.S).group(1))
    return out, path, text, data


def _sections(text):
    return re.findall(r'<section id="[^"]*" class="chart" data-chart="([^"]+)">(.*?)</section>', text, re.S)


def test_self_contained_page_with_one_svg_per_chart(report):
    _, path, text, data = report
    assert path.name == "report.html" and text.startswith("<!DOCTYPE html>")
    assert re.findall(r"<script\b[^>]*>", text) == ['<script type="application/json" id="report-data">']
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<link\b|<img\b|<iframe\b|@import|url\((?!#)", text)
    sections = _sections(text)
    assert [cid for cid, _ in sections] == [c["id"] for c in data["charts"]]
    for (cid, body), chart in zip(sections, data["charts"]):
        svgs = re.findall(r"<svg\b.*?</svg>", body, re.S)
        assert len(svgs) == 1, cid
        root = ET.fromstring(svgs[0])
        texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
        assert chart["title"].split(" (")[0].split(":")[0] in texts or cid.startswith("steps:"), (cid, texts[:200])
        assert f"Data: {chart['title']}" in html.unescape(body)


def test_conversion_by_arm_uses_the_first_entry_arm_and_merged_ids(report):
    _, _, text, data = report
    cart = next(j for j in data["journeys"] if j["journey_id"] == CA)
    arms = {a["arm"]: a for a in cart["arms"]}
    # A control (goal); B, C and D (anon:d merged into crm:D, first entry treatment) treatment, B converts
    assert (arms["control"]["entered"], arms["control"]["converted"]) == (1, 1)
    assert (arms["treatment"]["entered"], arms["treatment"]["converted"]) == (3, 1)
    assert (arms["treatment"]["low"], arms["treatment"]["high"]) == pytest.approx(wilson_interval(1, 3))
    assert cart["status"] == "ok" and cart["uplift"] == pytest.approx(1 / 3 - 1)
    assert (cart["uplift_low"], cart["uplift_high"]) == pytest.approx(uplift_interval(1, 3, 1, 1))
    welcome = next(j for j in data["journeys"] if j["journey_id"] == WE)
    assert welcome["status"] == "no goal" and welcome["uplift"] is None
    conv = next(c for c in data["charts"] if c["id"] == "conversion_by_arm")
    assert [r for r in conv["table"]["rows"] if r[0] == WE] == [[WE, "treatment", 1, "no goal", "no goal", "–",
                                                                 "–", "no goal"]]
    assert {r["journey"] for r in conv["data"]} == {CA}  # no rate drawn for a journey without a goal
    # the example query gives the same counts
    got = {(r["journey_id"], r["arm"]): (r["entered"], r["converted"])
           for r in run_example(report[0], "journey_conversion_by_arm").to_pylist()}
    assert got[(CA, "control")] == (1, 1) and got[(CA, "treatment")] == (3, 1) and got[(WE, "treatment")] == (1, 0)


def test_steps_in_journey_order_with_sent_suppressed_deferred(report):
    _, _, _, data = report
    steps = data["steps"][CA]
    assert [s["step_id"] for s in steps] == ["wait_1h", "reminder_email", "wait_23h", "reminder_sms"]
    email, sms = steps[1], steps[3]
    assert (email["sent"], email["deferred"], email["by_reason"]) == (1, 0, {"control_group": 1, "consent": 1})
    assert email["customers_reached"] == 3 and steps[0]["customers_reached"] == 1  # A's 'waiting' row
    assert (sms["sent"], sms["deferred"], sms["suppressed"]) == (0, 1, 0)
    chart = next(c for c in data["charts"] if c["id"] == f"steps:{CA}")
    assert {(d["step"], d["outcome"]): d["n"] for d in chart["data"]} == {
        ("reminder_email", "sent"): 1, ("reminder_email", "suppressed:consent"): 1,
        ("reminder_email", "suppressed:control_group"): 1, ("reminder_sms", "deferred"): 1}


def test_headline_daily_series_and_inputs(report):
    _, _, text, data = report
    h = data["headline"]
    assert h["suppressed"] == 2 and h["suppressed_by_class"] == {"avoided": 0, "compliance": 1, "holdout": 1,
                                                                  "other": 0}
    assert h["executed"] == 2 and h["dead_letters"] == 2
    sends = next(c for c in data["charts"] if c["id"] == "sends_per_day")
    assert sum(r["sent"] for r in sends["data"]) == 2  # suppress / none / wait are not sends
    assert {r["channel"] for r in sends["data"]} == {"email"}
    conv = next(c for c in data["charts"] if c["id"] == "conversions_per_day")
    assert sum(r["conversions"] for r in conv["data"]) == 2
    assert "cd" * 32 in text and "ab" * 32 in text and "2026-10-05T00:00:00+00:00" in text  # inputs stated
    assert text.index('id="headline"') < text.index('id="inputs"') < text.index('data-chart="conversion_by_arm"')
    dead = next(c for c in data["charts"] if c["id"] == "dead_letters")
    assert {(r["reason"], r["stream"]): r["records"] for r in dead["data"]} == {("invalid_json", "web"): 1,
                                                                               ("bad_timestamp", "orders"): 1}


def test_report_of_empty_output_without_manifest_and_cli(tmp_path, capsys):
    for name in TABLES:
        write_table(tmp_path, name, [])
    p = argparse.ArgumentParser()
    add_report_args(p)
    target = tmp_path / "sub" / "r.html"
    assert cli_report(p.parse_args([str(tmp_path), "--path", str(target)])) == 0
    assert capsys.readouterr().out.strip() == str(target)
    text = target.read_text()
    assert "No <code>run.json</code>" in text
    for _, body in _sections(text):
        assert body.count("<svg") == 1


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([*flags, *extra, url], capture_output=True, text=True, timeout=120, check=True)


def _console(stderr: str) -> list[str]:
    """Chromium's console messages (errors, warnings, logs, uncaught exceptions) in its stderr log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_opens_in_headless_chromium_without_console_errors_and_every_chart_renders(report, tmp_path):
    # the check can fail: a page with a console error and an exception is caught by the same harness
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>console.error('boom'); nope();</script></body></html>")
    assert len(_console(_chromium(bad.as_uri(), tmp_path, "--dump-dom").stderr)) == 2

    out, path, _, data = report
    run = _chromium(path.resolve().as_uri(), tmp_path, "--dump-dom")
    assert _console(run.stderr) == [], _console(run.stderr)
    dom = run.stdout
    sections = _sections(dom)
    assert [cid for cid, _ in sections] == [c["id"] for c in data["charts"]]
    for cid, body in sections:  # each chart was parsed into the DOM as an SVG with drawn marks
        assert body.count("<svg") == 1 and re.search(r"<(path|rect|line)\b", body), cid
    shot = tmp_path / "shot.png"
    run = _chromium(path.resolve().as_uri(), tmp_path, "--window-size=1100,3000", "--hide-scrollbars",
                    f"--screenshot={shot}")
    assert _console(run.stderr) == []
    PIL = pytest.importorskip("PIL.Image")
    with PIL.open(shot) as img:
        colors = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 20  # not a blank page: text and coloured marks were painted
