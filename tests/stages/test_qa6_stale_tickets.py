"""Open tickets that are never resolved (QA of the compliance area; "open tickets never expire" left from the first
round): the policy's ``open_tickets.stale_after`` (default 30 days) ends a ticket with no open/escalate event for
that long, so a helpdesk that never sends ``ticket_resolved`` does not suppress promotions for good.

Before: one ``ticket_opened`` with no resolution suppressed every marketing/sales message as ``open_ticket``
forever.  Now: suppressed while the ticket is fresh (an escalation refreshes it), sent once it is stale, and with
``stale_after: null`` the old behavior (open until resolved).
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import DAY, HOUR
from tests.scenarios import FLASH_PROMO

D0 = parse_ts("2026-10-01T00:00:00+00:00")
FLASH = default_text("journeys.yaml").rstrip() + "\n" + FLASH_PROMO


def config(stale: str | None = None) -> EngineConfig:
    policy = default_text("policy.yaml")
    if stale is not None:
        policy = policy.replace("stale_after: 30d", f"stale_after: {stale}")
    return EngineConfig(FLASH, "<j>", policy, "<p>")


def e(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:A",), attrs, {"email": "ann@example.com"})


def promo_outcomes(extra: list[Event], days: list[int], cfg: EngineConfig) -> list[tuple[int, str]]:
    """(day, "send" or the suppression reason) of a flash view at noon of each of ``days``."""
    evs = [e("crm/c", "crm", "contact_created", D0 - 40 * DAY, timezone="UTC"),
           e("consent/g", "consent", "consent_granted", D0 - 40 * DAY + 1, channel="email", status="granted"),
           e("support/o", "support", "ticket_opened", D0 + 9 * HOUR, ticket_id="T1", severity="low")] + extra
    evs += [e(f"web/f{d}", "web", "page_view", D0 + d * DAY + 12 * HOUR, product_id="FLASH") for d in days]
    out = ClusterFold(cfg.build_processor()).run([(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)],
                                                 END_OF_TIME)
    got = []
    for d in out.decisions:
        flash = [c for c in d.candidates if c.journey_id == "flash_promo"]
        if d.journey_id == "flash_promo" and d.action == "send":
            got.append(((d.decided_at - D0) // DAY, "send"))
        elif d.action == "suppress" and flash:
            got.append(((d.decided_at - D0) // DAY, flash[0].reason))
    return got


def test_a_ticket_never_resolved_stops_suppressing_once_stale():
    assert promo_outcomes([], [2, 29, 31, 45], config()) == [
        (2, "open_ticket"), (29, "open_ticket"), (31, "send"), (45, "send")]


def test_an_escalation_keeps_the_ticket_fresh():
    esc = [e("support/x", "support", "ticket_escalated", D0 + 20 * DAY, ticket_id="T1")]
    assert promo_outcomes(esc, [31, 49, 51], config()) == [(31, "open_ticket"), (49, "open_ticket"), (51, "send")]


def test_a_resolution_after_staleness_still_gives_its_grace():
    res = [e("support/r", "support", "ticket_resolved", D0 + 40 * DAY, ticket_id="T1")]
    assert promo_outcomes(res, [35, 41, 43], config()) == [(35, "send"), (41, "open_ticket"), (43, "send")]


def test_stale_after_null_keeps_a_ticket_open_until_resolved():
    assert promo_outcomes([], [31, 90], config("null")) == [(31, "open_ticket"), (90, "open_ticket")]


def test_the_state_drops_a_stale_ticket_and_retention_follows_the_policy():
    assert config().build_processor().retention.open_ticket_ms == 30 * DAY
    assert config("null").build_processor().retention.open_ticket_ms is None
    proc = config().build_processor()
    out = ClusterFold(proc).run([(ev, ()) for ev in [
        e("support/o", "support", "ticket_opened", D0, ticket_id="T1", severity="high"),
        e("web/later", "web", "page_view", D0 + 32 * DAY, product_id="X")]], END_OF_TIME)
    state = next(iter(out.final_states.values()))
    assert state.tickets == {} and state.facts(D0 + 32 * DAY)["open_high_tickets"] == 0
