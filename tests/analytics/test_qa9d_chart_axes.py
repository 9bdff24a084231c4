"""The report's per-day charts label their axes with distinct whole numbers and days (QA round 9).  The y axes are
symmetric-log, and Vega's ticks of a symlog scale are linear fractions: printed as whole numbers they repeated
labels at different heights ("1, 1, 1, 0, 0, 0" on the call panel of a run with one call, "2, 2, 1, 1, 0" on the
SMS one), so a reader could not tell 1 from 0 by the axis; a run of a few days repeated each day's label on the
x axis ("Oct 01 Oct 01 Oct 01 ..."), and a one-day run had no day label at all."""
from __future__ import annotations

import re

import pytest

from journeyflow.analytics import charts as ch


def _axis_labels(svg: str) -> list[list[str]]:
    """The label texts of every axis of the SVG, one list per axis."""
    groups = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, flags=re.S)
    return [re.findall(r">([^<]*)</text>", g) for g in groups]


def _rows(series: dict[str, list[int]], start_day: int = 1) -> list[dict]:
    return [{"day": f"2026-10-{start_day + d:02d}", "channel": name, "sent": v}
            for name, values in series.items() for d, v in enumerate(values)]


@pytest.mark.parametrize("series", [
    {"call": [0, 0, 1, 0], "sms": [0, 2, 1, 0], "email": [167, 10, 116, 21]},
    {"push": [3, 0, 44, 7, 2, 0, 9]},
    {"email": [1]},
])
def test_no_axis_repeats_a_label(series):
    svg = ch.to_svg(ch.daily_panels(_rows(series), "channel", "sent", "t", "executed", "s"), "k")
    axes = _axis_labels(svg)
    assert len(axes) == 2 * len(series)  # a day axis and a count axis per panel
    for labels in axes:
        assert labels and len(labels) == len(set(labels)), labels


def test_each_count_axis_reaches_its_busiest_day():
    series = {"call": [0, 1], "email": [167, 10], "sms": [0, 2]}
    svg = ch.to_svg(ch.daily_panels(_rows(series), "channel", "sent", "t", "executed", "s"), "k")
    counts = [labels for labels in _axis_labels(svg) if all(x.replace(",", "").isdigit() for x in labels)
              and not any(x.startswith("Oct") for x in labels)]
    tops = sorted(max(int(x.replace(",", "")) for x in labels) for labels in counts)
    assert tops == [1, 2, 200]


@pytest.mark.parametrize("top, ticks", [(1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 1, 2, 5, 10]),
                                        (167, [0, 1, 10, 100, 200])])
def test_symlog_ticks(top, ticks):
    assert ch.symlog_ticks(top) == ticks


def test_the_uplift_chart_marks_a_small_sample():
    """3/3 vs 0/3 customers: Newcomb's interval excludes 0 while Fisher's p is 0.1; the table and the headline said
    "small sample", the chart drew it like any measured effect (QA round 9)."""
    rows = [{"journey": "trial_ending", "uplift": 1.0, "low": 0.21, "high": 1.0, "small": True},
            {"journey": "winback", "uplift": 0.05, "low": -0.02, "high": 0.12, "small": False}]
    labels = [x for axis in _axis_labels(ch.to_svg(ch.uplift_chart(rows, "Uplift"), "u")) for x in axis]
    assert "trial_ending (small sample, approximate)" in labels and "winback" in labels


def test_each_count_axis_says_it_is_logarithmic():
    """The count axes are symmetric-log: each says so in its title, else a reader takes 10 -> 100 for a small step
    (QA round 17: the daily charts' log axis was not labelled as one)."""
    svg = ch.to_svg(ch.daily_panels(_rows({"call": [0, 1], "email": [167, 10]}), "channel", "sent", "t", "executed",
                                     "s"), "k")
    titles = [t for g in re.findall(r'<g class="mark-text role-axis-title"[^>]*>(.*?)</g>', svg, flags=re.S)
              for t in re.findall(r">([^<]*)</text>", g)]
    assert titles.count("executed (log scale)") == 2, titles
