"""``journeyflow compare``'s per-channel baseline reads the journeys' customer facts as journeyflow does (qa8c): a
ticket with no opened/escalated event for the policy's ``open_tickets.stale_after`` is not open in
``customer.open_high_tickets`` either (the journey facts are data, not arbitration: the same on both sides, so the
comparison measures arbitration only).  Before, the baseline counted a high ticket untouched for 40 days as open, and
``repeat_contact`` routed a case that journeyflow rightly did not."""
from __future__ import annotations

from journeyflow.analytics.baseline import run_automation
from journeyflow.config.engine import EngineConfig
from tests.stages.test_lifecycle import at, e, fold, profile


def _events(days: int) -> list:
    return profile() + [
        e("t1", "support", "ticket_opened", at(0, "10:00"), ticket_id="T-OLD", severity="high"),
        e("t2", "support", "ticket_opened", at(days, "10:00"), ticket_id="T-NEW", severity="high"),
    ]


def _cases(decisions) -> list:
    return [d.decided_at for d in decisions if d.journey_id == "repeat_contact" and d.action == "route_case"]


def test_the_baseline_does_not_count_a_stale_ticket_as_open():
    config = EngineConfig.from_files()
    evs = _events(40)
    auto, _ = run_automation(evs, config.journeys(), at(41, "00:00"), config.effective_retention())
    assert _cases(auto) == [] == _cases(fold(evs).decisions)


def test_the_baseline_still_sees_two_open_high_tickets():
    config = EngineConfig.from_files()
    evs = _events(20)
    auto, _ = run_automation(evs, config.journeys(), at(21, "00:00"), config.effective_retention())
    assert _cases(auto) == [at(20, "10:00")] == _cases(fold(evs).decisions)
