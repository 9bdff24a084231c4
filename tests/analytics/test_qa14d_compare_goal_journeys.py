"""qa14d: ``journeyflow compare --journeys F`` measures goal conversions of F's own journeys.

Before: the goal conversions (orders within 7 days after a send) followed the shipped ids cart_abandonment,
browse_offer and winback only: with a journeys file whose cart journey is called ``abandoned_cart``, both sides
showed "goal-journey sends 0, orders 0" though each sent cart reminders, and nothing said which journeys were
followed.  Now a journey whose goal is an order counts too, and the report names the journeys it followed
(``goal journeys: …``, JSON ``goal_journeys``)."""
from __future__ import annotations

import pytest

from journeyflow.analytics.compare import compare
from journeyflow.tools.generator import generate

JOURNEYS = """version: 1
journeys:
  - id: abandoned_cart
    name: Abandoned cart
    category: sales
    priority: 600
    entry: {event: add_to_cart, stream: web}
    exit:
      - event: order_placed
    goal:
      - event: order_placed
    reentry: {mode: after_cooldown, cooldown: 7d}
    max_duration: 3d
    steps:
      - id: wait_1h
        wait: 1h
      - id: reminder_email
        send: {channel: email, content_id: cart_reminder_1, product_from_event: true}
      - id: window
        wait: 48h
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("qa14d_goal_journeys")
    generate(200, 7, 3, str(base / "in"))
    (base / "journeys.yaml").write_text(JOURNEYS)
    return compare(str(base / "in"), journeys=str(base / "journeys.yaml"))


def test_a_journey_of_another_id_with_an_order_goal_is_followed(report):
    assert report.goal_journeys == ("abandoned_cart",)
    for side in (report.automation, report.journeyflow):
        assert side.goal_sends == side.by_journey["abandoned_cart"] > 0
        assert side.goal_persons > 0
    assert report.automation.conversions > 0


def test_the_report_names_the_journeys_it_followed(report):
    assert "goal journeys: abandoned_cart" in report.render()
    assert report.to_dict()["goal_journeys"] == ["abandoned_cart"]
