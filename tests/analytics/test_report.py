"""The self-contained HTML report: parses, one SVG per chart, no external resources, data matches the tables."""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from journeyflow.cli.report import add_args as add_report_args, run as cli_report
from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import TABLES, write_table
from test_quality import build_output, good_rows

CHROMIUM = "/usr/bin/chromium"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.urls: list[str] = []
        self.stack: list[str] = []
        self.svg_texts: list[list[str]] = []
        self.chart_data = ""
        self._in_data = False
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        a = dict(attrs)
        for k in ("src", "href", "xlink:href", "action", "poster", "data"):
            if k in a and a[k] is not None:
                self.urls.append(a[k])
        if tag == "svg":
            self.svg_texts.append([])
        if tag == "script" and a.get("id") == "chart-data":
            assert a.get("type") == "application/json"
            self._in_data = True
        if tag not in ("meta", "rect", "line", "circle", "polyline", "br", "img", "link", "input"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.urls.append(v)

    def handle_endtag(self, tag):
        if tag in ("rect", "line", "circle", "polyline"):
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()
        if tag == "script":
            self._in_data = False

    def handle_data(self, data):
        if self._in_data:
            self.chart_data += data
        elif "svg" in self.stack and self.svg_texts:
            self.svg_texts[-1].append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = build_output(tmp_path_factory.mktemp("report"))
    path = write_report(out)
    return out, Path(path)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_report_is_self_contained_html(report):
    out, path = report
    assert path == out / "report.html"
    text = path.read_text(encoding="utf-8")
    page = _parse(path)
    assert not page.errors, page.errors
    assert page.tags["html"] == 1 and page.tags["body"] == 1
    data = json.loads(page.chart_data)
    assert page.tags["svg"] == len(data["charts"]) >= 7  # one SVG per chart (a funnel per journey + 5)
    assert page.tags["details"] == len(data["charts"]) + 1  # a data table per chart (+ table rows)
    # no external resources: only in-page anchors, no scripts/stylesheets/fonts/images from anywhere
    assert all(u.startswith("#") for u in page.urls), page.urls
    assert page.tags["link"] == 0 and page.tags["img"] == 0 and page.tags["iframe"] == 0
    assert page.tags["script"] == 1  # only the JSON data block
    assert not re.search(r"https?://|//cdn|@import|url\(", text)


def test_each_chart_has_title_axis_labels_and_data_table(report):
    _, path = report
    page = _parse(path)
    data = json.loads(page.chart_data)
    html_text = html.unescape(path.read_text(encoding="utf-8"))
    for chart, texts in zip(data["charts"], page.svg_texts):
        joined = " ".join(texts)
        assert chart["title"] in joined
        assert chart["x_label"] in joined and chart["y_label"] in joined, chart["id"]
        assert f"Data: {chart['title']}" in html_text
        for row in chart["table"]["rows"]:
            assert str(row[0]) in html_text


def _chart(data, cid):
    return next(c for c in data["charts"] if c["id"] == cid)


def test_chart_data_matches_tables(report):
    _, path = report
    data = json.loads(_parse(path).chart_data)
    rows = good_rows()
    assert data["tables"] == {t: len(rows[t]) for t in TABLES}

    for journey in ("cart_abandonment", "welcome"):
        f = _chart(data, f"funnel:{journey}")
        entered = {s["customer_id"] for s in rows["journey_steps"] if s["journey_id"] == journey
                   and s["kind"] == "entered"}
        goals = {s["customer_id"] for s in rows["journey_steps"] if s["journey_id"] == journey and s["kind"] == "goal"}
        values = dict(zip(f["categories"], f["series"][0]["values"]))
        assert f["categories"][0] == "entered" and f["categories"][-1] == "goal"
        assert values["entered"] == len(entered) and values["goal"] == len(goals)

    daily = _chart(data, "decisions_by_channel_daily")
    assert sum(sum(s["values"]) for s in daily["series"]) == len(rows["decisions"])
    by_channel = Counter(d["channel"] or "(no channel)" for d in rows["decisions"])
    assert {s["name"]: sum(s["values"]) for s in daily["series"]} == by_channel
    assert daily["categories"] == ["2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08"]

    sup = _chart(data, "suppressions_by_reason")
    assert dict(zip(sup["categories"], sup["series"][0]["values"])) == \
        Counter(s["reason"] for s in rows["suppressed_candidates"])

    conflicts = _chart(data, "conflicts_resolved")
    expected = Counter(r for d in rows["decisions"] if d["action"] not in ("suppress", "none")
                       for r in {c["reason"] for c in d["candidates"]})
    assert dict(zip(conflicts["categories"], conflicts["series"][0]["values"])) == expected

    hist = _chart(data, "messages_per_customer")
    customers = {s["customer_id"] for s in rows["customer_snapshots"]} | {d["customer_id"] for d in rows["decisions"]}
    sends = Counter(d["customer_id"] for d in rows["decisions"] if d["action"] == "send")
    assert sum(hist["series"][0]["values"]) == len(customers)
    assert dict(zip(hist["categories"], hist["series"][0]["values"])) == \
        {str(k): v for k, v in sorted(Counter(sends.get(c, 0) for c in customers).items())}

    cvt = _chart(data, "control_vs_treated")
    assert cvt["categories"] == ["cart_abandonment", "welcome"]
    series = {s["name"]: s["values"] for s in cvt["series"]}
    # cart: control = C3 (goal), treated = C1 (goal), C2, anon, hashed email; welcome: treated = C4, C5 (goal)
    assert series == {"control": [100.0, None], "treated": [25.0, 50.0]}
    table = {(r[0], r[1]): r[2:] for r in cvt["table"]["rows"]}
    assert table[("cart_abandonment", "control")] == [1, 1, 100.0]
    assert table[("cart_abandonment", "treated")] == [4, 1, 25.0]
    assert table[("cart_abandonment", "other")] == [1, 0, 0.0]  # C4: every reminder suppressed


def test_report_of_empty_output_and_cli(tmp_path, capsys):
    for name in TABLES:
        write_table(tmp_path, name, [])
    p = argparse.ArgumentParser()
    add_report_args(p)
    target = tmp_path / "sub" / "r.html"
    assert cli_report(p.parse_args([str(tmp_path), "--path", str(target)])) == 0
    assert capsys.readouterr().out.strip() == str(target)
    page = _parse(target)
    data = json.loads(page.chart_data)
    assert page.tags["svg"] == len(data["charts"]) == 5  # no journeys: no funnel, every other chart says so
    assert "no data" in target.read_text()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_renders_in_headless_chromium(report, tmp_path):
    _, path = report
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = path.resolve().as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=90, check=True).stdout
    data = json.loads(_parse(path).chart_data)
    assert dom.count("<svg") == len(data["charts"])
    assert "Funnel: cart_abandonment" in dom and 'id="chart-data"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, "--window-size=1000,2400", f"--screenshot={shot}", url], capture_output=True,
                   timeout=90, check=True)
    assert shot.exists() and shot.stat().st_size > 10_000
    PIL = pytest.importorskip("PIL.Image")
    with PIL.open(shot) as img:
        colors = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 20  # not a blank page: text and colored bars were painted


def test_ids_merged_later_count_for_the_merged_customer(tmp_path):
    """A send decided under an anonymous id that was later merged into crm:C000001 counts for crm:C000001."""
    from test_quality import T0, HOUR, _dec
    rows = {t: [] for t in TABLES}
    rows["decisions"] = [_dec("d_a", "anon:dev-1", T0, "send", "cart_abandonment", "reminder_1", "push"),
                         _dec("d_b", "crm:C000001", T0 + HOUR, "send", "cart_abandonment", "reminder_2", "email")]
    rows["journey_steps"] = [
        {"customer_id": "anon:dev-1", "journey_id": "cart_abandonment", "step_id": None, "kind": "entered",
         "at": T0, "trigger_id": "web/e1", "detail": None},
        {"customer_id": "crm:C000001", "journey_id": "cart_abandonment", "step_id": None, "kind": "goal",
         "at": T0 + 2 * HOUR, "trigger_id": "orders/o1", "detail": None}]
    rows["customer_snapshots"] = [{"customer_id": "crm:C000001", "snapshot_at": T0 + 3 * HOUR,
                                   "identifiers": ["crm:C000001", "anon:dev-1"]},
                                  {"customer_id": "crm:C000002", "snapshot_at": T0 + 3 * HOUR,
                                   "identifiers": ["crm:C000002"]}]
    for name in TABLES:
        write_table(tmp_path, name, rows[name])
    data = json.loads(_parse(Path(write_report(tmp_path))).chart_data)
    hist = _chart(data, "messages_per_customer")
    assert dict(zip(hist["categories"], hist["series"][0]["values"])) == {"0": 1, "1": 0, "2": 1}
    cvt = _chart(data, "control_vs_treated")
    assert {(r[0], r[1]): r[2:] for r in cvt["table"]["rows"]}[("cart_abandonment", "treated")] == [1, 1, 100.0]
