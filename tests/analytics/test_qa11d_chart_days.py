"""qa11d: the per-day charts label each UTC day as that day, whatever the machine's time zone.

The report's days are UTC days (``date_trunc('day', …)`` in a UTC session; the table below each chart lists them as
``2026-10-01``), but the charts drew them on a local-time scale: Vega reads ``2026-10-01`` as midnight UTC and
formats the axis in the renderer's zone, so on a machine west of UTC (``TZ=America/New_York``) every point was
labelled the day before ("Sep 30" for October 1st) under an axis titled "day (UTC)".  Now the scale is UTC.  Each
zone is rendered in its own process (the renderer reads the zone once)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

SCRIPT = """
import re
from journeyflow.analytics import charts as ch
rows = [{"day": d, "channel": "email", "sent": n} for d, n in (("2026-10-01", 3), ("2026-10-02", 5), ("2026-10-03", 1))]
svg = ch.to_svg(ch.daily_panels(rows, "channel", "sent", "t", "y", "s"), "k")
print(" ".join(re.findall(r">((?:Sep|Oct) \\d\\d)<", svg)))
"""


@pytest.mark.parametrize("tz", ["America/New_York", "Pacific/Honolulu", "Asia/Tokyo", "UTC"])
def test_day_labels_are_the_utc_days_in_any_zone(tz):
    env = {**os.environ, "TZ": tz}
    got = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    assert re.findall(r"\w+ \d\d", got.stdout) == ["Oct 01", "Oct 02", "Oct 03"]
