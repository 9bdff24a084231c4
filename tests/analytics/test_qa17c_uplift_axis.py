"""qa17c: the uplift chart's axis reads in percentage points, as its title and table do.

The uplift is a difference of two rates (34.5% − 16.7% = +17.8 percentage points); the axis was formatted with
d3's ``+%`` and labelled its ticks ``+20%``, which an analyst reads as a *relative* uplift (20% more conversions
than control) under a title that says percentage points.  The ticks now say ``+20 pp``."""
from __future__ import annotations

import re

from journeyflow.analytics import charts as ch


def _axis_labels(svg: str) -> list[str]:
    groups = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, flags=re.S)
    return [x for g in groups for x in re.findall(r">([^<]*)</text>", g)]


def test_uplift_ticks_are_percentage_points():
    rows = [{"journey": "cart_abandonment", "uplift": 0.178, "low": -0.229, "high": 0.35, "small": False}]
    labels = _axis_labels(ch.to_svg(ch.uplift_chart(rows, "Uplift"), "u"))
    ticks = [x for x in labels if x != "cart_abandonment"]
    assert ticks and not any("%" in x for x in ticks), ticks
    assert all(re.fullmatch(r"[+−-]?\d+(\.\d+)? pp", x) for x in ticks), ticks
    assert "+20 pp" in ticks and "0 pp" in ticks
