"""One decision moment per customer and event time (``journeyflow.stages.arbitration.moment``): the candidates of every
input at one millisecond -- events with the same ``ts`` and the timers due then -- are arbitrated together, on both
paths (``ClusterFold``, the replay's fold, and ``CustomerProcessor.advance``, the streaming core).

Before: each input was arbitrated on its own, so a payment failure and a third product view in the same millisecond
sent two emails despite ``max_messages_per_moment: 1``, and a marketing promo triggered by an event beat the sales
cart reminder due at that very millisecond (events are handled before the timers of their time), which the caps then
blocked.
"""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import END_OF_TIME, Outputs
from journeyflow.stages.state import DAY, HOUR, CustomerState

D0 = parse_ts("2026-10-05T00:00:00+00:00")
CONTACT = {"email": "ann@example.com", "phone": "+14155550101"}

#: a marketing journey whose send is immediate and which a product view of 'STOP' exits (same stream as its entry,
#: so the exit can sort after the entry at one millisecond)
EXITING = """
  - id: flash_promo
    category: marketing
    priority: 350
    entry: {event: page_view, when: "has(event.product_id) && event.product_id == 'FLASH'"}
    exit:
      - {event: product_view, when: "has(event.product_id) && event.product_id == 'STOP'"}
    reentry: {mode: always}
    steps:
      - {id: promo, send: {channel: email, content_id: flash_promo}}
"""


def config(extra: str = "") -> EngineConfig:
    return EngineConfig(default_text("journeys.yaml").rstrip() + "\n" + extra, "<test journeys>",
                        default_text("policy.yaml"), "<test policy>")


def e(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:A",), attrs, CONTACT)


def known_customer() -> list[Event]:
    t = D0 - 30 * DAY
    return [e("crm/c", "crm", "contact_created", t, timezone="UTC"),
            e("consent/e", "consent", "consent_granted", t + 1, channel="email", status="granted"),
            e("consent/s", "consent", "consent_granted", t + 2, channel="sms", status="granted")]


def views(at: list[int], product: str = "P1", prefix: str = "web/v") -> list[Event]:
    return [e(f"{prefix}{i}", "web", "product_view", t, product_id=product) for i, t in enumerate(at)]


def bounded(events: list[Event], cfg: EngineConfig) -> Outputs:
    items = [(ev, ()) for ev in sorted(events, key=lambda x: x.sort_key)]
    return ClusterFold(cfg.build_processor()).run(items, END_OF_TIME)


def streaming(events: list[Event], cfg: EngineConfig, flushes: int = 3) -> Outputs:
    """``CustomerProcessor.advance`` in several flushes, with the state stored as bytes between them (as the
    streaming DoFn does), each flush up to a watermark past its last event."""
    proc = cfg.build_processor()
    evs = sorted(events, key=lambda x: x.sort_key)
    out, raw = Outputs(), CustomerState(customer_id="crm:A").to_bytes()
    size = max(1, len(evs) // flushes + 1)
    cuts = [k for k in range(size, len(evs), size) if evs[k].ts > evs[k - 1].ts]  # a watermark between two times
    for lo, hi in zip([0] + cuts, cuts + [len(evs)]):
        state = CustomerState.from_bytes(raw)
        proc.advance(state, evs[lo:hi], evs[hi].ts - 1 if hi < len(evs) else END_OF_TIME, out, state_bytes=raw)
        raw = state.to_bytes()
    return out


def sends_at(out: Outputs, t: int) -> list[tuple]:
    return sorted((d.journey_id, d.channel) for d in out.decisions if d.action == "send" and d.decided_at == t)


def lost_at(out: Outputs, t: int) -> set[tuple]:
    return {(c.journey_id, c.reason) for d in out.decisions if d.decided_at == t for c in d.candidates}


RUNS = [pytest.param(bounded, id="bounded"), pytest.param(streaming, id="streaming")]


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("order_uid", ["orders/a-first", "orders/z-last"])
def test_two_events_in_one_millisecond_make_one_moment(run, order_uid):
    """A payment failure and the third view of a product in the same millisecond: one message (the transactional
    payment reminder, best first), the browse promo loses as ``lower_priority`` -- whatever the event ids."""
    t = D0 + 13 * HOUR
    evs = known_customer() + views([D0 + 12 * HOUR, D0 + 12 * HOUR + 60_000, t]) + [
        e(order_uid, "orders", "payment_failed", t, order_id="O1")]
    out = run(evs, config())
    assert sends_at(out, t) == [("dunning", "email")]
    assert ("browse_offer", "lower_priority") in lost_at(out, t)
    chosen = [d for d in out.decisions if d.decided_at == t and d.action == "send"]
    assert chosen[0].trigger_event_id == order_uid  # each chosen send keeps its own trigger


@pytest.mark.parametrize("run", RUNS)
def test_a_timer_due_at_the_millisecond_of_an_event_competes_with_it(run):
    """The cart reminder (sales, priority 600) due at 13:00:00.000 and a browse promo (marketing, 300) triggered by a
    view at that very millisecond: the reminder wins; before, the promo went out first and the reminder was capped."""
    t = D0 + 13 * HOUR
    evs = known_customer() + [e("web/cart", "web", "add_to_cart", t - HOUR, product_id="P9")] + views(
        [D0 + 12 * HOUR + 60_000, D0 + 12 * HOUR + 120_000, t])
    out = run(evs, config())
    assert sends_at(out, t) == [("cart_abandonment", "email")]
    assert ("browse_offer", "lower_priority") in lost_at(out, t)


@pytest.mark.parametrize("run", RUNS)
def test_an_exit_in_the_same_millisecond_drops_the_send_its_journey_just_proposed(run):
    """At equal times an exit applies before the step (as for a timer step): the immediate promo of a journey whose
    exit event comes in the same millisecond is not sent; the audit says ``journey_exited``."""
    t = D0 + 14 * HOUR
    evs = known_customer() + [e("web/a-entry", "web", "page_view", t, product_id="FLASH"),
                              e("web/b-exit", "web", "product_view", t, product_id="STOP")]
    out = run(evs, config(EXITING))
    assert sends_at(out, t) == []
    assert ("flash_promo", "journey_exited") in lost_at(out, t)
    assert any(s.kind == "cancelled" and s.journey_id == "flash_promo" and s.detail == "exit_event:product_view"
               for s in out.steps)
    # the same entry without the exit still sends (the exit is what stops it)
    alone = run(known_customer() + [e("web/a-entry", "web", "page_view", t, product_id="FLASH")], config(EXITING))
    assert sends_at(alone, t) == [("flash_promo", "email")]


@pytest.mark.parametrize("run", RUNS)
def test_a_single_input_moment_is_decided_before_the_next_input(run):
    """A send deferred by quiet hours from a timer moment is due before the customer's next event: it is decided at
    its due time with the state of that time (an open ticket arriving later does not suppress it)."""
    t_view = D0 + 22 * HOUR  # 22:00 UTC: quiet hours
    evs = known_customer() + views([t_view - 120_000, t_view - 60_000, t_view]) + [
        e("support/t", "support", "ticket_opened", D0 + DAY + 12 * HOUR, ticket_id="T1", severity="low")]
    out = run(evs, config())
    due = D0 + DAY + 8 * HOUR  # 08:00 next day
    assert sends_at(out, due) == [("browse_offer", "email")]
