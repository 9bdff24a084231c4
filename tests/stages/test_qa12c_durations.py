"""A computed attribute's window as a data engineer might mistype it (qa12c): a duration too long for a 64-bit
count of milliseconds is refused at load with file:line (``config.durations``), not read as a number no time
arithmetic can use nor turned into Python's own "Exceeds the limit (4300 digits)" message."""
from __future__ import annotations

import pytest

from journeyflow.config.durations import parse_duration
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError


@pytest.mark.parametrize("window", ["9999999999999999999999w", "15250284453w", "1" * 5000 + "d"])
def test_a_window_too_long_for_64_bit_milliseconds_is_refused(window):
    text = f"version: 1\nattributes:\n  logins: {{op: count, event: login, window: {window}}}\n"
    with pytest.raises(JourneyError) as e:
        load_attributes_text(text, "attributes.yaml")
    message = "\n".join(e.value.errors)
    assert message.startswith("attributes.yaml:3: attributes.logins.window: ") and "too long" in message, message
    assert len(message) < 300


def test_the_longest_durations_still_load():
    assert parse_duration("15250284452w") == 15250284452 * 604_800_000 < 2 ** 63
    assert parse_duration("0000000000000000000000007d") == 7 * 86_400_000
