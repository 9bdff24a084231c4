"""The replay horizon (``--until``) is the replay's "now" (QA of issue 17's timing): no timer due after it fires, for
any customer, and an event dated after it is not decided but dead-lettered (``timestamp_out_of_range``), so two
customers with the same history up to the horizon get the same decisions whatever came later.

Before the fix a customer with a later event had its timers between the horizon and that event fired (the cart
reminders of customer A below), while an identical customer without one had none, and the later event was decided.
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.bounded import ClusterFold, fold_clusters, resolve_clusters
from journeyflow.stages.journeys import control_bucket
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.state import DAY, HOUR

D0 = parse_ts("2026-10-05T00:00:00+00:00")
CONFIG = EngineConfig.from_files()


def treated(prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(1000) if control_bucket("cart_abandonment", f"{prefix}-{i}") >= 1000)


def customer(c: str, later: bool) -> list[Event]:
    ids = (f"crm:{c}",)
    contact = {"email": f"{c.lower()}@example.com"}
    evs = [Event(f"crm/{c}", "crm", "contact_created", D0 - 10 * DAY, ids, {"timezone": "UTC"}, contact),
           Event(f"consent/{c}", "consent", "consent_granted", D0 - 10 * DAY + 1, ids,
                 {"channel": "email", "status": "granted"}, contact),
           Event(treated(f"web/{c}"), "web", "add_to_cart", D0 + 10 * HOUR, ids, {"product_id": "P"}, contact)]
    if later:
        evs.append(Event(f"web/{c}-pv", "web", "page_view", D0 + 5 * DAY, ids, {}, contact))
    return evs


def decided(events: list[Event], until: int) -> dict[str, list]:
    """customer -> (time, journey, step, action) of every decision; plus the dead letters under key ``"dead"``."""
    out: dict[str, list] = {"dead": []}
    for cluster, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(), until):
        out[cluster] = sorted((d.decided_at, d.journey_id, d.step_id, d.action) for d in o.decisions)
        out["dead"] += o.dead
    return out


def test_no_timer_after_the_horizon_fires_and_later_events_are_dead_letters():
    horizon = D0 + 10 * HOUR + 30 * 60_000  # half an hour after the carts: the reminders (11:00) are not due yet
    got = decided(customer("A", later=True) + customer("B", later=False), horizon)
    assert [d for d in got["crm:A"] if d[1] == "cart_abandonment"] == []
    assert [(t - D0, j) for t, j, _s, _a in got["crm:A"]] == [(t - D0, j) for t, j, _s, _a in got["crm:B"]]
    [dead] = got["dead"]
    assert (dead.reason, dead.source, dead.event_time) == (DeadLetterReason.TIMESTAMP_OUT_OF_RANGE, "web/A-pv",
                                                           D0 + 5 * DAY)
    # past both carts' timers the two customers get the same reminders
    later = decided(customer("A", later=True) + customer("B", later=False), D0 + 2 * DAY)
    assert [d[1:] for d in later["crm:A"]] == [d[1:] for d in later["crm:B"]]
    assert ("cart_abandonment", "reminder_email", "send") in [d[1:] for d in later["crm:A"]]


def test_a_link_after_the_horizon_is_not_applied():
    anon = ("anon:dev-1",)
    evs = customer("C", later=False) + [
        Event(treated("web/anon"), "web", "add_to_cart", D0 + 9 * HOUR, anon, {"product_id": "Q"}, {}),
        Event("web/login", "web", "login", D0 + 3 * DAY, ("anon:dev-1", "crm:C"), {}, {}),
    ]
    items = sorted(((ev, (("anon:dev-1", "crm:C"),) if ev.uid == "web/login" else ()) for ev in evs),
                   key=lambda it: it[0].sort_key)
    out = ClusterFold(CONFIG.build_processor()).run(items, D0 + DAY)
    assert sorted(out.final_states) == ["anon:dev-1", "crm:C"]  # still two profiles at the horizon
    assert [dl.source for dl in out.dead] == ["web/login"]
