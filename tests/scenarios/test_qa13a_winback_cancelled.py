"""No win-back offer on the strength of a cancelled order (qa13a, a lifecycle practitioner's scenarios, round 4).

``winback`` restarts on every ``order_placed`` and sends its offer 30 days later; a cancelled order ended the
cross-sell of that order but not the win-back, so a customer whose only order was cancelled the next day got "we
miss you, come back" 30 days later, as if they had bought.  Now the offer goes out only when the last order kept
(cancellation drops an order from the customer's orders) is 30 days old or more: none without a kept order; a newer
order cancelled still lets the offer go out, 30 days after that order (the membership it started); a plain lapsed
customer gets it after 30 days as before.  Replayed through the public replay API with the default journeys.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import T0, Scenario, decisions_of, replay_scenario

D = td(days=1)


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()

    def order(at, cid, oid, t="order_placed"):
        s.add("orders", at, crm_id=cid, order_id=oid, type=t, product_ids=["MUG"], amount=12, currency="USD")

    for cid in ("ONLY", "NEWER", "PLAIN"):
        s.contact(-60 * D, cid, email=f"{cid.lower()}@example.com")
    order(td(0), "ONLY", "O-1")                 # the only order, cancelled the next day
    order(D, "ONLY", "O-1", "order_cancelled")
    order(td(0), "NEWER", "N-1")                # a kept order, then a newer one cancelled
    order(10 * D, "NEWER", "N-2")
    order(11 * D, "NEWER", "N-2", "order_cancelled")
    order(td(0), "PLAIN", "P-1")                # a kept order, nothing since
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa13a_winback"))
    return audit


def _winback_days(audit, cid):
    return [(d["decided_at"] - int(T0.timestamp() * 1000)) // 86_400_000 for d in decisions_of(audit, f"crm:{cid}")
            if d["journey_id"] == "winback" and d["action"] == "send"]


def test_no_winback_when_the_only_order_was_cancelled(audit):
    assert _winback_days(audit, "ONLY") == []


def test_a_cancelled_newer_order_still_lets_the_winback_go_out(audit):
    assert _winback_days(audit, "NEWER") == [40]


def test_a_lapsed_customer_gets_the_winback_after_30_days(audit):
    assert _winback_days(audit, "PLAIN") == [30]
