"""Integer literals outside CEL's ranges (qa8c): ``int`` is 64-bit signed, ``uint`` 64-bit unsigned; CEL's parser
rejects a literal outside them.  ``event.amount > 10000000000000000000`` (one zero too many) passed
``journeys validate`` and then failed at every evaluation (a counted condition error, read as false: the journey
never fired); now it is a load error naming the literal, with file:line."""
from __future__ import annotations

import pytest

from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.loader import load_journeys_text

TEMPLATE = """\
version: 1
journeys:
  - id: big
    category: sales
    priority: 500
    entry: {event: order_placed, stream: orders, when: "%s"}
    steps:
      - {id: s, send: {channel: email, content_id: x}}
"""


@pytest.mark.parametrize("cond", ["event.amount > 10000000000000000000", "event.amount < -9223372036854775809",
                                  "event.amount > 18446744073709551616u", "event.amount > 0x10000000000000000"])
def test_an_integer_literal_out_of_range_is_a_load_error(cond):
    with pytest.raises(JourneyError, match=r"j.yaml:6: journeys\[0\].entry.when: .*out of range"):
        load_journeys_text(TEMPLATE % cond, "j.yaml")


@pytest.mark.parametrize("cond", ["event.amount > 9223372036854775807", "event.amount > -9223372036854775808",
                                  "event.amount < 18446744073709551615u", "event.amount > 0x7fffffffffffffff",
                                  "event.amount > 10000000000000000000.0"])
def test_literals_at_the_edges_are_accepted(cond):
    (j,) = load_journeys_text(TEMPLATE % cond, "j.yaml")
    assert j.entry[0].condition is not None
