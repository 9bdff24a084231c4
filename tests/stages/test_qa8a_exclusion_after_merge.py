"""Two journeys of one exclusion group both active (QA of the arbitration area).

A customer is never *entered* into a second journey of a group while one is active (the engine refuses the entry),
but an identity merge keeps the memberships of both profiles (README "Journey lifecycle"): profile A waiting in
``cross_sell`` and profile B waiting in another ``promo`` journey become one customer with two active ``promo``
memberships.  Before: rule 3 (``exclusion_group`` against active journeys) suppressed the candidates of *both*,
because each saw another active journey of its group, so neither journey ever sent while both lasted.  Now the
group is held by the membership that entered first (ties: journey id) -- the one a single profile would have kept,
as the merge rule for two active memberships of one journey does -- and only the other is suppressed.
"""
from __future__ import annotations

from journeyflow.model.decisions import Candidate
from journeyflow.stages.arbitration import Arbiter
from journeyflow.stages.state import CustomerState

NOON = 1_781_265_600_000  # 2026-06-12T12:00:00Z


def cand(journey_id: str, content_id: str) -> Candidate:
    return Candidate(journey_id, "s1", "marketing", 1, "send", "email", content_id, trigger_id="t/1",
                     proposed_at=NOON, exclusion_group="promo")


def customer(journeys: dict) -> CustomerState:
    return CustomerState(customer_id="c1", ids=["crm:C1"], tz="UTC", consent={"email": ["granted", 0]},
                         addresses={"email:e1": ["email", "c1@example.com", 0]}, journeys=journeys)


def fate(journeys: dict, c: Candidate) -> tuple[str, ...]:
    r = Arbiter().arbitrate(customer(journeys), [c], NOON, "c1", "t/1")
    d = r.decisions[0]
    return (d.action, *d.reason_codes)


MERGED = {"cross_sell": {"step": "cross_sell_email", "entered": NOON - 3 * 86_400_000, "group": "promo"},
          "vip_nurture": {"step": "vip_email", "entered": NOON - 2 * 86_400_000, "group": "promo"}}


def test_the_journey_that_entered_first_holds_the_group():
    assert fate(dict(MERGED), cand("cross_sell", "xs")) == ("send", "chosen")
    assert fate(dict(MERGED), cand("vip_nurture", "vip")) == ("suppress", "exclusion_group")


def test_entry_time_ties_go_to_the_smaller_journey_id():
    tied = {k: {**v, "entered": NOON - 86_400_000} for k, v in MERGED.items()}
    assert fate(tied, cand("cross_sell", "xs")) == ("send", "chosen")
    assert fate(tied, cand("vip_nurture", "vip")) == ("suppress", "exclusion_group")


def test_a_journey_outside_the_group_members_is_still_excluded():
    assert fate(dict(MERGED), cand("winback", "wb")) == ("suppress", "exclusion_group")
