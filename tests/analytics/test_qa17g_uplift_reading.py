"""qa17g: the uplift chart said "an interval that crosses the dashed line at 0 shows no effect", so the demo's
cart_abandonment interval [-15.7, -0.1] pp, which does not cross 0, read as an effect on the chart while the table
and the headline called it inconclusive (Fisher p 0.056 >= 0.05: outcomes.verdict).  The chart now writes each
journey's reading (the verdict's) beside its interval and its subtitle states the rule the verdict uses."""
from __future__ import annotations

import html
import re

from journeyflow.analytics import charts as ch
from journeyflow.analytics.outcomes import verdict


def _mark_texts(svg: str) -> list[str]:
    groups = re.findall(r'<g class="mark-text role-mark[^"]*"[^>]*>(.*?)</g>', svg, flags=re.S)
    return [x for g in groups for x in re.findall(r">([^<]*)</text>", g)]


def _subtitle(svg: str) -> str:
    groups = re.findall(r'<g class="mark-text role-title-subtitle"[^>]*>(.*?)</g>', svg, flags=re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", g) for g in groups))


ROWS = [  # (low, high, p, p_holm): the demo's cart_abandonment, an effect, an interval over 0
    {"journey": "cart_abandonment", "uplift": -0.079, "low": -0.157, "high": -0.001, "p": 0.056, "p_holm": 0.17},
    {"journey": "winback", "uplift": 0.2, "low": 0.1, "high": 0.3, "p": 0.0001, "p_holm": 0.0003},
    {"journey": "trial_ending", "uplift": 0.01, "low": -0.05, "high": 0.07, "p": 0.7, "p_holm": 0.7},
]


def test_each_journey_reading_is_on_the_chart_as_the_verdict_gives_it():
    svg = ch.to_svg(ch.uplift_chart(ROWS, "Uplift"), "u")
    texts = _mark_texts(svg)
    expected = [verdict(r["low"] > 0 or r["high"] < 0, r["p"], r["p_holm"], 3).split(":")[0] for r in ROWS]
    assert expected == ["inconclusive", "effect shown", "no effect shown"]
    assert sorted(texts) == sorted(expected), texts


def test_the_subtitle_states_the_verdict_rule_not_the_interval_alone():
    sub = _subtitle(ch.to_svg(ch.uplift_chart(ROWS, "Uplift"), "u"))
    assert "crosses the dashed line at 0 shows no effect" not in sub
    assert "excludes 0" in sub and "p < 0.05" in sub, sub


def test_a_given_verdict_wins():
    rows = [{**ROWS[1], "verdict": "inconclusive: the interval excludes 0 but the Holm-adjusted p ..."}]
    assert _mark_texts(ch.to_svg(ch.uplift_chart(rows, "Uplift"), "u")) == ["inconclusive"]
