"""A practitioner's journey names a Segment event (``Order Delivered``) in a wait-until without ``stream: track``.

``journeyflow journeys validate`` answered "'Order Delivered' is not a known value (did you mean 'delivered'?)":
the engagement stream's delivery report, which the author did not mean, and not the fix (``stream: track``).  A
name written as Segment names events (spaces, capitals) is told how a user-named event is written, then the close
built-in name; a snake_case misspelling of a built-in type (``add_to_card``) keeps its short hint.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

JOURNEY = """\
version: 1
journeys:
  - id: review_request
    name: Review request
    category: marketing
    priority: 200
    entry: {{event: order_placed, stream: orders}}
    steps:
      - id: wait_delivery
        wait: {{until: {until}, timeout: 14d}}
      - {{id: ask, send: {{channel: email, content_id: review_ask}}}}
"""


def _validate(tmp_path, until: str) -> str:
    path = tmp_path / "journeys.yaml"
    path.write_text(JOURNEY.format(until=until))
    r = subprocess.run([sys.executable, "-m", "journeyflow.cli", "journeys", "validate", str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    return r.stderr


def test_a_segment_style_name_is_told_to_name_stream_track(tmp_path):
    err = _validate(tmp_path, "Order Delivered")
    assert "stream: track" in err
    assert err.index("stream: track") < err.index("'delivered'")


@pytest.mark.parametrize("until, meant", [("add_to_card", "add_to_cart"), ("payment_faild", "payment_failed")])
def test_a_misspelt_built_in_type_keeps_its_short_hint(tmp_path, until, meant):
    err = _validate(tmp_path, until)
    assert f"(did you mean '{meant}'?)" in err
