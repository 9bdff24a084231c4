"""qa10d: a late bounce naming no address, of a customer merged away, bounces that customer's address (streaming).

An anonymous signup naming ann@example.com at 10:00 (customer A: the device and the email), a Segment ``Email
Bounced`` of that device naming no address at 10:00:10 (the email tool knows the user by its anonymous id only), and
the CRM contact C1 (email consent granted, optionally an older address old@) updated with ann@ at 10:01, which merges
A into C1.  A payment failure of C1 at 10:02 sends an email at once.  Replay: the bounce hits the most recently seen
email of the merged history at 10:00:10, ann@: the email goes to old@, or nowhere.  Streaming, when the bounce
arrives after A's merge was processed (beyond the allowed lateness), its change travels as a status-only hand-over
(``identity.online.status_handover``); the hand-over's state was empty (A's addresses went with its state), so a
bounce naming no address changed nothing and C1 emailed the bounced ann@.  Now the hand-over names the bounce's
channel without an address and the routing step fills in the addresses the identity graph gave A at the bounce's
time (``identity.online.route_transfer``); the survivor bounces the most recently seen of them.
"""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.stages.identity.online import route_transfer
from tests.beam import test_arrival_order as ao
from tests.beam.test_arrival_order import LATENESS, T, key, parse
from tests.beam.test_handover_to_merged_customer import RoutedLoop
from tests.beam.test_qa9a_late_optout_merged import bounded, iso

EMAIL_NOW = """
  - id: email_now
    name: Payment email at once (test)
    category: transactional
    priority: 900
    entry: {event: payment_failed, stream: orders}
    reentry: {mode: always}
    steps:
      - id: email_now_mail
        send: {channel: email, content_id: email_now}
"""
CONFIG = EngineConfig(default_text("journeys.yaml").rstrip() + "\n" + EMAIL_NOW, "<test journeys>",
                      default_text("policy.yaml"), "<default policy>")


class Loop(RoutedLoop):
    """:class:`RoutedLoop` whose transfers take the pipeline's whole routing step (``route_transfer``)."""

    def _route(self, target: str, ev):
        return route_transfer(self.store, target, ev)


def deliver(loop: Loop, events: list, bounce, after=None) -> None:
    """Every event arrives 100 ms after its time, in order; with ``after``, the bounce arrives 30 s after that
    event instead (20 s after it was processed: beyond the lateness)."""
    for ev in events:
        if ev is bounce and after is not None:
            continue
        loop.arrive(ev, ev.ts + 100)
        if ev is after:
            loop.arrive(bounce, ev.ts + 30_000)


def records(old: bool) -> list:
    return [
        ("crm", {"event_id": "c0", "ts": iso(T - 3_600_000), "crm_id": "C1", "type": "contact_created",
                 "timezone": "UTC", **({"email": "old@example.com"} if old else {})}),
        ("consent", {"event_id": "k0", "ts": iso(T - 3_599_000), "crm_id": "C1", "channel": "email",
                     "status": "granted"}),
        ("web", {"event_id": "s1", "ts": iso(T), "anonymous_id": "d1", "type": "signup", "email": "ann@example.com"}),
        ("track", {"type": "track", "event": "Email Bounced", "messageId": "b1", "anonymousId": "d1",
                   "timestamp": iso(T + 10_000), "properties": {"bounce_type": "hard"}}),
        ("crm", {"event_id": "c1", "ts": iso(T + 60_000), "crm_id": "C1", "email": "ann@example.com",
                 "type": "contact_updated"}),
        ("orders", {"event_id": "o1", "ts": iso(T + 120_000), "crm_id": "C1", "type": "payment_failed",
                    "order_id": "O1", "amount": 10, "currency": "GBP"}),
    ]


@pytest.fixture(autouse=True)
def _config(monkeypatch):
    monkeypatch.setattr(ao, "CONFIG", CONFIG)  # the Loop's DoFn and link rules
    import tests.beam.test_qa9a_late_optout_merged as qa9a
    monkeypatch.setattr(qa9a, "CONFIG", CONFIG)  # its bounded replay


@pytest.mark.parametrize("old", [False, True])
@pytest.mark.parametrize("late", [False, True])
def test_a_late_bounce_naming_no_address_of_a_merged_away_customer_bounces_its_address(old, late):
    events = parse(records(old))
    bounce, merge = events[3], events[4]
    ann = events[2].contact["email_key"]
    loop = Loop(f"memory://qa10d-late-bounce-{old}-{late}")
    deliver(loop, events, bounce, merge if late else None)
    until = T + 180_000 + LATENESS
    loop.finish(until)
    paid = [(d.action, d.channel, d.address_key) for d in loop.decisions if d.trigger_event_id == "orders/o1"]
    old_key = events[0].contact.get("email_key")
    assert paid == ([("send", "email", old_key)] if old else [("suppress", None, None)])  # never to ann@
    assert ann not in {k for _a, _c, k in paid}
    assert sorted(key(d) for d in loop.decisions) == bounded(events, until - LATENESS)
    assert [(d.source, d.reason) for d in loop.dead] == ([(bounce.uid, "late_event")] if late else [])


def test_an_unnamed_bounce_without_candidates_hits_the_address_most_recently_seen_by_its_time():
    """Without the identity graph's answer (a hand-over routed without a store), the survivor's merge applies the
    rule of a bounce naming no address to its own addresses: the most recently seen at or before the bounce."""
    from journeyflow.stages.deliverability import HARD_BOUNCE, address_block, see_address
    from journeyflow.stages.state import CustomerState
    from journeyflow.stages.state_merge import unnamed_key

    survivor = CustomerState(customer_id="crm:C1")
    see_address(survivor, "email:" + "a" * 32, "email", "a@example.com", 1_000)
    see_address(survivor, "email:" + "b" * 32, "email", "b@example.com", 2_000)
    see_address(survivor, "email:" + "c" * 32, "email", "c@example.com", 9_000)  # seen after the bounce
    handed = CustomerState(customer_id="email:" + "d" * 32)
    handed.set_address_status(unnamed_key("email"), "email", HARD_BOUNCE, 5_000)
    merged = survivor.merge(handed)
    assert [k[6] for k in merged.addr_status] == ["b"]  # the unnamed entry resolved, none left
    assert address_block(merged, "email:" + "b" * 32, "email", 6_000) == HARD_BOUNCE


def test_an_unnamed_soft_bounce_goes_to_its_candidate_even_one_the_survivor_no_longer_holds():
    from journeyflow.stages.deliverability import SOFT_BOUNCE, see_address, soft_bounce
    from journeyflow.stages.state import CustomerState
    from journeyflow.stages.state_merge import name_unnamed, unnamed_key

    gone = "email:" + "e" * 32  # the merged-away customer's address, dropped from the survivor by the address cap
    survivor = CustomerState(customer_id="crm:C1")
    see_address(survivor, "email:" + "a" * 32, "email", "a@example.com", 1_000)
    handed = CustomerState(customer_id="email:" + "d" * 32)
    handed.set_address_status(unnamed_key("email"), "email", soft_bounce("engagement/b1"), 5_000)
    handed.set_address_status(unnamed_key("email"), "email", SOFT_BOUNCE, 4_000)  # (a bare one: no identity)
    name_unnamed(handed, {"email": [gone]})
    merged = survivor.merge(CustomerState.from_bytes(handed.to_bytes()))
    assert sorted(merged.addr_status) == [gone] and len(merged.addr_status[gone]["email"][3]) == 2


@pytest.mark.parametrize("late", [False, True])
def test_a_late_bounce_naming_no_address_hits_the_address_of_its_time_not_a_newer_one(late):
    """The same rule for a customer still there: C1 (old@) bounces at 10:00:10 by CRM id only, its CRM record
    changes to new@ at 10:01, and the bounce arrives after that was processed.  It hit the most recent address at
    its arrival, new@, and the payment email went to old@, the address that bounced; replay bounces old@ (the most
    recent at 10:00:10) and mails new@.  Now the bounce hits the most recent address seen by its own time."""
    recs = records(True)
    recs[2:4] = [("engagement", {"event_id": "b1", "ts": iso(T + 10_000), "crm_id": "C1", "channel": "email",
                                 "type": "bounced"})]
    recs[3][1]["email"] = "new@example.com"  # the CRM update at 10:01: a new address, no merge
    events = parse(recs)
    bounce, update = events[2], events[3]
    new = update.contact["email_key"]
    loop = Loop(f"memory://qa10d-late-bounce-present-{late}")
    deliver(loop, events, bounce, update if late else None)
    until = T + 180_000 + LATENESS
    loop.finish(until)
    paid = [(d.action, d.address_key) for d in loop.decisions if d.trigger_event_id == "orders/o1"]
    assert paid == [("send", new)]
    assert sorted(key(d) for d in loop.decisions) == bounded(events, until - LATENESS)
