"""Merged journey memberships keep what one profile with both histories would have (qa14c).

``stages.state_merge.merge_membership`` keeps one record per journey.  Before, the other profile's active
membership and every entry the other record held (``journeys.held``) were dropped whatever the journey; now the
engine settles them after the merge (``JourneyEngine.cancel_orphans`` -> ``journeys.held.settle_merged``).
"""
from __future__ import annotations

from journeyflow.stages.journeys import JourneyEngine, default_journeys
from journeyflow.stages.state import DAY, HOUR, CustomerState
from journeyflow.stages.state_merge import merge_membership

ENGINE = JourneyEngine(default_journeys())


def _dunning(entered: int, order: str, held: tuple[str, ...] = ()) -> dict:
    m = {"step": "wait_24h", "entered": entered, "since": entered, "trigger": f"orders/{order}", "entries": [entered],
         "group": None, "goal": None, "r": {"order_id": order}}
    if held:
        m["h"] = [{"at": entered + 1, "t": f"orders/{o}", "r": {"order_id": o}} for o in held]
    return m


def _settled(a: dict, b: dict) -> dict:
    s = CustomerState(customer_id="crm:C")
    s.journeys["dunning"] = merge_membership(a, b)
    ENGINE.cancel_orphans(s, 3 * HOUR, "absorb", "crm:C")
    return s.journeys["dunning"]


def test_both_records_held_entries_and_the_other_membership_are_held_after_a_merge():
    a, b = _dunning(0, "A", held=("A2",)), _dunning(HOUR, "B", held=("B2",))
    for x, y in ((a, b), (b, a)):  # commutative
        m = _settled(x, y)
        assert m["r"] == {"order_id": "A"}
        assert [h["r"]["order_id"] for h in m["h"]] == ["A2", "B", "B2"]
        assert all("m" not in h for h in m["h"])


def test_an_entry_about_the_kept_memberships_own_order_is_not_held():
    m = _settled(_dunning(0, "A"), _dunning(HOUR, "A"))
    assert "h" not in m


def test_a_journey_that_does_not_hold_keeps_the_first_membership_only():
    cross = {"step": "wait_3d", "entered": 0, "since": 0, "trigger": "orders/X", "entries": [0], "group": "promo",
             "goal": None, "r": {"order_id": "X"}}
    later = {**cross, "entered": DAY, "since": DAY, "trigger": "orders/Y", "entries": [DAY], "r": {"order_id": "Y"}}
    s = CustomerState(customer_id="crm:C")
    s.journeys["cross_sell"] = merge_membership(cross, later)
    ENGINE.cancel_orphans(s, 2 * DAY, "absorb", "crm:C")
    assert s.journeys["cross_sell"]["r"] == {"order_id": "X"} and "h" not in s.journeys["cross_sell"]


def test_winback_keeps_the_membership_of_the_later_order():
    first = {"step": "wait_30d", "entered": 0, "since": 0, "trigger": "orders/1", "entries": [0], "group": None,
             "goal": None}
    later = {**first, "entered": 10 * DAY, "since": 10 * DAY, "trigger": "orders/2", "entries": [10 * DAY]}
    s = CustomerState(customer_id="crm:C")
    s.journeys["winback"] = merge_membership(later, first)
    s.schedule(30 * DAY, f"winback:wait_30d:0:{30 * DAY}", "journey", {"j": "winback", "s": "wait_30d", "e": 0})
    s.schedule(40 * DAY, f"winback:wait_30d:{10 * DAY}:{40 * DAY}", "journey",
               {"j": "winback", "s": "wait_30d", "e": 10 * DAY})
    out = ENGINE.cancel_orphans(s, 11 * DAY, "absorb", "crm:C")
    assert s.journeys["winback"]["entered"] == 10 * DAY
    assert s.journeys["winback"]["entries"] == [0, 10 * DAY]
    assert [t[0] for t in s.timers] == [40 * DAY]  # the earlier membership's timer is gone
    assert [(st.kind, st.detail) for st in out.steps] == [("exited", "merged")]
