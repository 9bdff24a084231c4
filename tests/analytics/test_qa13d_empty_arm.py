"""qa13d: a journey with a control group whose one arm has no customer yet says which arm, and the headline says so.

Before: with every cart_abandonment entrant in the treatment arm (a small or young population), the report's
status was "empty arm" beside the treatment row only (the empty arm has no row, so the reader had to infer which),
and the headline's "Measured effect of the journeys with a control group" left the journey out without a word.
Now the status is "empty arm: no control customer" (or treatment) and the headline lists the journey as
"no uplift (no control customer yet; N in the other arm)"."""
from __future__ import annotations

import html
import re
from datetime import timedelta as td

import pytest

from journeyflow.analytics.report import build_report, write_report
from tests.scenarios import Scenario, event_id_in_arm, replay_scenario


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    s = Scenario()
    for i in range(2):  # two carts, both drawn into the treatment arm
        s.contact(-td(days=30), f"T{i}", email=f"t{i}@example.com")
        s.add("web", td(hours=1 + i), anonymous_id=f"dev-{i}", user_id=f"T{i}", type="add_to_cart",
              product_id="LAMP", event_id=event_id_in_arm("cart_abandonment", f"t{i}-", False))
    _, _, o = replay_scenario(s, tmp_path_factory.mktemp("qa13d_empty_arm"))
    return o


def test_the_status_names_the_empty_arm(out):
    o = next(x for x in build_report(out).outcomes if x.journey_id == "cart_abandonment")
    assert [a.arm for a in o.arms] == ["treatment"] and o.entered == 2
    assert o.status == "empty arm: no control customer" and o.uplift is None


def test_the_headline_lists_the_journey_without_an_uplift(out):
    page = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", open(write_report(out)).read())))
    headline = page.split("Measured effect of the journeys with a control group:", 1)[1].split(".", 1)[0]
    assert "cart_abandonment: no uplift (no control customer yet; 2 in the other arm)" in headline
