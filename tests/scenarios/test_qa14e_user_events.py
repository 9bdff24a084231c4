"""QA round 14 (qa14e), end to end (replay with an attributes file): a data engineer's own events.

* A computed attribute counting "renewals without a coupon" (``where: "!has(event.properties.coupon)"``) missed the
  renewals sent without any property (a ``track`` call without ``properties``): its ``where`` was an error there,
  so the journey waiting for the second such renewal never fired.
* A ``vip`` trait cleared and set to true in one millisecond (two ``identify`` calls of one request) stayed true
  while any other value was cleared: the journey for VIPs fired on an uncertain trait.  Now cleared whatever the
  order of the two messages in the input."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.pipelines.replay import run_replay
from tests.scenarios import T0, Scenario, decisions_of, read_topic

ATTRIBUTES = """version: 1
events:
  Renewal Due:
    stream: track
    properties: {coupon: string, total: double}
traits:
  vip: bool
attributes:
  renewals_without_coupon: {op: count, event: Renewal Due, stream: track, window: 30d,
                             where: "!has(event.properties.coupon)"}
"""
JOURNEYS = """version: 1
journeys:
  - id: coupon_offer
    category: marketing
    priority: 100
    entry:
      event: Renewal Due
      stream: track
      when: "customer.traits.renewals_without_coupon >= 2"
    steps:
      - {id: offer, send: {channel: email, content_id: coupon_offer}}
  - id: vip_thanks
    category: marketing
    priority: 90
    entry:
      event: Renewal Due
      stream: track
      when: "has(customer.traits.vip) && customer.traits.vip"
    steps:
      - {id: thanks, send: {channel: email, content_id: vip_thanks}}
"""


def _track(s: Scenario, at, **msg) -> None:
    s.n += 1
    s.records["track"].append({"messageId": f"m{s.n}", "timestamp": (T0 + at).isoformat(), **msg})


def _replay(s: Scenario, base, shuffle_seed=None) -> list[dict]:
    inp = s.write(base / "in", shuffle_seed=shuffle_seed)
    (base / "journeys.yaml").write_text(JOURNEYS)
    (base / "attributes.yaml").write_text(ATTRIBUTES)
    summary = run_replay(["--input", str(inp), "--output", str(base / "out"), "--until", "end",
                          "--journeys", str(base / "journeys.yaml"), "--attributes", str(base / "attributes.yaml")])
    assert summary.reconciles
    return read_topic(base / "out", "decisions-audit")


def _customer(s: Scenario, uid: str) -> None:
    _track(s, td(0), type="identify", userId=uid, traits={"email": f"{uid}@example.com"})
    s.add("consent", td(seconds=1), crm_id=uid, channel="email", status="granted")


def test_renewals_sent_without_properties_count_as_without_a_coupon(tmp_path):
    s = Scenario()
    _customer(s, "u1")
    _track(s, td(hours=1), type="track", userId="u1", event="Renewal Due")  # no properties at all
    _track(s, td(hours=2), type="track", userId="u1", event="Renewal Due", properties={"total": 20.0})
    audit = _replay(s, tmp_path)
    assert [d["journey_id"] for d in decisions_of(audit, "crm:u1")] == ["coupon_offer"]


@pytest.mark.parametrize("shuffle_seed", [None, 1, 2, 3])
def test_a_trait_cleared_and_set_true_in_one_millisecond_is_cleared(tmp_path, shuffle_seed):
    s = Scenario()
    _customer(s, "u2")
    _track(s, td(minutes=5), type="identify", userId="u2", traits={"vip": True})
    _track(s, td(minutes=5), type="identify", userId="u2", traits={"vip": None})
    _track(s, td(hours=1), type="track", userId="u2", event="Renewal Due", properties={"coupon": "X"})
    audit = _replay(s, tmp_path, shuffle_seed)
    assert decisions_of(audit, "crm:u2") == []
