"""``state_bounds.cap_event`` (session 9): after an event of a state already within the caps, only the lists that
event can grow are looked at; the result is :func:`state_bounds.cap`'s.

* unit: a random state within small caps, one event applied (``CustomerState.apply``, a journey entry and its
  ``entered`` row), then ``cap_event`` equals ``cap``;
* fold: a generated population folded by ``ClusterFold`` with small caps (so they bite often) gives the same
  outputs and final states as the same fold with ``cap`` after every event.
"""
from __future__ import annotations

import copy
import random
from dataclasses import replace

import journeyflow.stages.processor as processor_mod
from tests.engine_spies import SpiedEngine
from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.journeys import JourneyStep
from journeyflow.stages.state import CustomerState, Retention
from journeyflow.stages.state_bounds import cap, cap_event

SMALL = Retention(max_views=3, views_per_product=1, max_sends=2, max_orders=1, max_purchases=2, max_seen=4,
                  max_entries_per_journey=2, max_cart=1, max_cancelled=1, max_resolved=1)


def _event(rng: random.Random, i: int, ts: int) -> Event:
    kind = rng.choice([("web", "product_view"), ("web", "add_to_cart"), ("orders", "order_placed"),
                       ("orders", "order_cancelled"), ("support", "ticket_resolved"), ("support", "ticket_opened"),
                       ("web", "page_view"), ("crm", "contact_updated"), ("support", "ticket_escalated")])
    attrs = {"product_id": f"p{rng.randint(0, 3)}", "order_id": f"o{rng.randint(0, 3)}",
             "product_ids": [f"p{rng.randint(0, 5)}" for _ in range(rng.randint(0, 3))],
             "ticket_id": f"t{rng.randint(0, 3)}"}
    return Event(f"e{i}", kind[0], kind[1], ts, ("crm:c",), attrs)


def test_cap_event_equals_cap_for_a_state_within_the_caps():
    rng = random.Random(5)
    for _ in range(300):
        s = CustomerState(customer_id="crm:c")
        ts = 1_700_000_000_000
        for i in range(rng.randint(1, 30)):
            ts += rng.choice((0, 1000, 3_600_000))
            ev = _event(rng, i, ts)
            s.seen[ev.uid] = ts
            s.apply(ev)
            steps = [JourneyStep("crm:c", "jx", "s1", "step", ts, ev.uid, "send:email:x")]
            if rng.random() < 0.3:  # a journey entry (the engine keeps at most 20 entry times), and its step row
                jid = f"j{rng.randint(0, 2)}"
                m = s.journeys.setdefault(jid, {"step": None, "entries": []})
                m["entries"] = (m["entries"] + [ts])[-20:]
                steps.append(JourneyStep("crm:c", jid, "s1", "entered", ts, ev.uid, "treatment"))
            ref = copy.deepcopy(s)
            cap(ref, SMALL)
            cap_event(s, SMALL, ev.type, steps)
            assert s == ref


def test_a_fold_with_small_caps_equals_the_fold_that_caps_everything_after_every_event(monkeypatch):
    config = EngineConfig.from_files()
    events = _population()

    def fold():
        p = config.build_processor()
        p.retention = replace(p.retention, **{k: getattr(SMALL, k) for k in (
            "max_views", "views_per_product", "max_sends", "max_orders", "max_purchases", "max_seen",
            "max_entries_per_journey", "max_cart", "max_cancelled", "max_resolved")})
        until = max(e.ts for e in events) + 3 * 86_400_000
        out = []
        for cluster, o in fold_clusters(resolve_clusters(events, config.link_rules()), p, until):
            out.append((cluster, o.decisions, o.steps, o.dead, o.events, o.timers,
                        {k: s.to_bytes() for k, s in o.final_states.items()}))
        return out

    fast = fold()
    monkeypatch.setattr(processor_mod, "cap_event", lambda s, r, *_rest: cap(s, r))
    # (and no event left out of it: ``on_event`` skips the call for a type growing nothing capped but ``seen``)
    monkeypatch.setattr(processor_mod, "_GROWN_BY_TYPE", _EveryType())
    assert fold() == fast


class _EveryType(dict):
    """Every event type grows some capped list (the reference fold calls ``cap`` after every event)."""

    def __contains__(self, key: object) -> bool:
        return True


def bursty_customers(rng: random.Random, customers: int, per_customer: int, steps: tuple[int, ...],
                     event_of) -> list[Event]:
    """Customers ``crm:C<n>`` (a CRM contact with an email, an email grant) with ``per_customer`` events each:
    ``event_of(rng, i, ts) -> Event`` (its uid prefixed with the customer's number, its ids the customer's) at
    times advanced by one of ``steps`` ms (several 0: bursts in one millisecond)."""
    events, t0 = [], 1_700_000_000_000
    for c in range(customers):
        cid, email = f"crm:C{c}", f"email:c{c}@example.com"
        events.append(Event(f"crm{c}", "crm", "contact_created", t0, (cid, email), {"timezone": "UTC"},
                            {"email": f"c{c}@example.com"}))
        events.append(Event(f"cons{c}", "consent", "consent_granted", t0 + 1, (cid,),
                            {"channel": "email", "status": "granted"}))
        ts = t0 + 10
        for i in range(per_customer):
            ts += rng.choice(steps)
            ev = event_of(rng, i, ts)
            events.append(Event(f"{c}-{ev.uid}", ev.stream, ev.type, ts, (cid,), ev.attrs))
    return events


def _population() -> list[Event]:
    """A few customers with bursts of events (several in one millisecond too), orders, carts and opt-ins."""
    return bursty_customers(random.Random(11), 6, 60, (0, 0, 60_000, 3_600_000, 86_400_000), _event)


def test_an_event_after_a_proposing_event_of_its_millisecond_applies_every_cap(monkeypatch):
    """A ticket resolution that proposes a send (service_recovery) skips the caps until its moment is decided; a
    product view of the same millisecond then caps everything (here the resolved tickets, over their cap of 1),
    so a third event of that millisecond sees them capped, as it did before ``cap_event``."""
    from journeyflow.stages.bounded import ClusterFold
    from journeyflow.stages.journeys import JourneyEngine

    config = EngineConfig.from_files()
    p = config.build_processor()
    p.retention = replace(p.retention, max_resolved=1)
    t, day, cid = 1_700_000_000_000, 86_400_000, "crm:C1"
    items = [Event("crm1", "crm", "contact_created", t - 9 * day, (cid,), {"timezone": "UTC"},
                   {"email": "c1@example.com"}),
             Event("cons1", "consent", "consent_granted", t - 9 * day + 1, (cid,), {"channel": "email",
                                                                                  "status": "granted"}),
             Event("sup1", "support", "ticket_resolved", t - 3 * day, (cid,), {"ticket_id": "T1", "csat": 5}),
             Event("sup2", "support", "ticket_resolved", t, (cid,), {"ticket_id": "T2", "csat": 1}),
             Event("web1", "web", "product_view", t, (cid,), {"product_id": "P1"}),
             Event("web2", "web", "product_view", t, (cid,), {"product_id": "P2"})]
    seen: dict[str, int] = {}
    real = JourneyEngine.on_event

    def spy(self, state, event, *rest):
        seen[event.uid] = len(state.resolved)
        return real(self, state, event, *rest)
    p.engine = SpiedEngine(p.engine, on_event=spy)  # (``tests/engine_spies``: not on the compiled class)
    out = ClusterFold(p).run([(e, ()) for e in sorted(items, key=lambda e: e.sort_key)], t + day)
    assert any(d.journey_id == "service_recovery" and d.action == "send" for d in out.decisions)
    assert seen["web1"] == 2  # the resolution's own event left them over the cap (its moment is pending)
    assert seen["web2"] == 1  # web1 capped them all
