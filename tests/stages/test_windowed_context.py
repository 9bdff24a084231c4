"""Windowed facts and decision-message context are filtered by the decision's time, not only by state expiry
(which runs at most once a day of event time, and keeps orders longer when a policy's purchase window asks for it).

Inputs (QA of issues 17/20): a cart reminder 7 days and 1.5 hours after an earlier cart line (that line is no longer
current: it must not be in ``product_ids``); a CRM task for a customer whose last orders are 100 days old under a
policy with a 120-day recent-purchase window (orders are kept 120 days: ``orders_90d`` must not count them).
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.journeys import control_bucket
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import DAY, HOUR, CustomerState

D0 = parse_ts("2026-10-05T00:00:00+00:00")
CONTACT = {"email": "shopper@example.com"}


def e(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:S1",), attrs, CONTACT)


def known(consent: bool = True) -> list[Event]:
    evs = [e("crm/c", "crm", "contact_created", D0 - 10 * DAY, timezone="UTC", owner_id="own-7")]
    if consent:
        evs.append(e("consent/e", "consent", "consent_granted", D0 - 10 * DAY + 1, channel="email", status="granted"))
    return evs


def treated(prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(1000) if control_bucket("cart_abandonment", f"{prefix}-{i}") >= 1000)


def fold(evs: list[Event], config: EngineConfig | None = None):
    config = config or EngineConfig.from_files()
    return ClusterFold(config.build_processor()).run([(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)],
                                                     END_OF_TIME)


def test_a_cart_line_older_than_the_cart_window_is_not_in_the_reminder():
    evs = known() + [
        e(treated("web/c1"), "web", "add_to_cart", D0 + 9 * HOUR, product_id="P1"),
        e("web/pv", "web", "page_view", D0 + 6 * DAY + 23 * HOUR),  # (the day's expiry ran here: P1 still current)
        e(treated("web/c2"), "web", "add_to_cart", D0 + 7 * DAY + 9 * HOUR + 30 * 60_000, product_id="P2"),
    ]
    out = fold(evs)
    reminders = sorted((d.decided_at, d.context["product_ids"]) for d in out.decisions
                       if d.content_id == "cart_reminder_1" and d.action == "send")
    assert reminders == [(D0 + 10 * HOUR, ["P1"]),
                         (D0 + 7 * DAY + 10 * HOUR + 30 * 60_000, ["P2"])]  # P1 was added 7 d 1.5 h before


def test_cart_size_and_orders_90d_facts_count_only_their_window():
    s = CustomerState(cart={"OLD": D0, "NEW": D0 + 6 * DAY}, orders=[[D0 - 95 * DAY, "O0", 5.0, []],
                                                                     [D0 - 10 * DAY, "O1", 7.0, []]])
    f = s.facts(D0 + 7 * DAY + 1)
    assert f["cart_size"] == 1 and f["orders_90d"] == 1


def test_customer_value_counts_orders_of_the_last_90_days_under_a_long_purchase_window():
    policy = default_text("policy.yaml").replace("  window: 30d\n  categories: [marketing, sales]",
                                                 "  window: 120d\n  categories: [marketing, sales]")
    config = EngineConfig(default_text("journeys.yaml"), "<j>", policy, "<p>")
    assert config.build_processor().retention.orders_ms == 120 * DAY  # orders are kept for the purchase window
    evs = known() + [
        e("orders/o1", "orders", "order_placed", D0 - 100 * DAY, order_id="O1", product_ids=["A"], amount=40.0),
        e("orders/o2", "orders", "order_placed", D0 - 20 * DAY, order_id="O2", product_ids=["B"], amount=15.5),
        e("support/t1", "support", "ticket_opened", D0, ticket_id="T1", severity="high"),
        e("support/t1e", "support", "ticket_escalated", D0 + HOUR, ticket_id="T1"),
    ]
    out = fold(evs, config)
    task = next(d for d in out.decisions if d.action == "create_task")
    assert task.context["customer_value"]["orders_90d"] == 1
    assert task.context["customer_value"]["revenue_90d"] == 15.5
    assert task.context["customer_value"]["last_order_at"] == D0 - 20 * DAY
    assert task.context["owner_id"] == "own-7" and task.context["ticket"]["status"] == "escalated"


def test_the_snapshot_counts_the_windows_not_what_the_state_still_holds():
    """``customer_snapshots`` is windowed like the decision facts: a cart line 7 days and an hour old and an order
    of 100 days ago are still in the state (expiry is lazy) but not in ``cart_size`` / ``orders_90d``."""
    from journeyflow.stages.snapshot import snapshot_row
    s = CustomerState(customer_id="crm:A")
    at = D0 + 30 * DAY
    s.cart = {"OLD": at - 7 * DAY - HOUR, "NEW": at - HOUR}
    s.orders = [[at - 100 * DAY, "O1", 40.0, []], [at - 20 * DAY, "O2", 15.5, []]]
    row = snapshot_row(s, at)
    assert (row["cart_size"], row["orders_90d"]) == (1, 1)
