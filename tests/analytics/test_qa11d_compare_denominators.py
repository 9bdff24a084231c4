"""qa11d: ``compare``'s goal conversions have their denominators.

Before: "persons with such an order 26 | 17" (automation | journeyflow) read as automation converting more people,
though automation had sent goal-journey messages to 106 persons and journeyflow to 62: the persons sent one, the
denominator, were not shown.  Now a "persons sent one" row, the share of them with an order, and
``goal_conversions.persons_sent`` in ``--json``."""
from __future__ import annotations

import pytest

from journeyflow.analytics.compare import compare
from journeyflow.tools.generator import generate


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa11d_compare")
    generate(60, 5, 7, str(base / "in"))
    return compare(str(base / "in"))


def test_persons_sent_a_goal_message_are_given(report):
    data = report.to_dict()
    for side in ("automation", "journeyflow"):
        conv = data[side]["goal_conversions"]
        assert "persons_sent" in conv and conv["persons"] <= conv["persons_sent"] <= data[side]["goal_journey_sends"]
    assert data["automation"]["goal_conversions"]["persons_sent"] > 0
    lines = report.render().splitlines()
    sent = next(line for line in lines if line.strip().startswith("persons sent one"))
    share = next(line for line in lines if line.strip().startswith("of the persons sent one"))
    a, j = data["automation"]["goal_conversions"], data["journeyflow"]["goal_conversions"]
    assert sent.split()[-2:] == [str(a["persons_sent"]), str(j["persons_sent"])]
    want = [f"{100 * c['persons'] / c['persons_sent']:.1f}%" if c["persons_sent"] else "-" for c in (a, j)]
    assert share.split()[-2:] == want
