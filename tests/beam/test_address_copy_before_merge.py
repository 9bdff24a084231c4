"""An address opt-out copied to a holder that is merged into another customer *after* the opt-out's time, when the
merging link arrives first (inside the allowed lateness): the copy must reach the customer that decides the
holder's events between the opt-out and the merge (compliance, issues 16 and 23.4).

A CRM customer A1 and an email-only customer B share a family phone (B's ticket names it; the link is refused as
``shared_identifier``: two people with their own emails).  At 10 s the phone is opted out of SMS (a consent record
naming the phone: routed to A1, copied to B as a holder of the number).  At 11 s B's payment fails (a journey sends
an SMS at once); at 12 s the CRM record naming B's email makes B the CRM customer B1.  Replay: the SMS is suppressed
(the number is opted out).  When the CRM record arrives first, streaming keys the payment failure to B (the customer
at 11 s) while the address router used to copy the opt-out only to B's *current* id, B1: B's key sent the SMS to
the opted-out number.  The router now copies a change to each holder's customer at the change's time and its
current one (``IdentityStore.root_at`` and ``find``), and keeps the holders' own ids.  Every arrival order of the
three late records; the real resolution, address router, DoFn and transfer loop in process.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.online import resolve_online, transfer_target
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.address import AddressRouterFn, address_messages
from tests.beam.test_arrival_order import LATENESS, T, Loop, key, parse

SMS_NOW = """
  - id: sms_now
    name: Payment SMS at once (test)
    category: transactional
    priority: 900
    entry: {event: payment_failed, stream: orders}
    reentry: {mode: always}
    steps:
      - id: sms_now_send
        send: {channel: sms, content_id: payment_sms_now}
"""
CONFIG = EngineConfig(default_text("journeys.yaml").rstrip() + "\n" + SMS_NOW, "<test journeys>",
                      default_text("policy.yaml"), "<default policy>")
PHONE = "+1 415 555 0134"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


class _Cell:
    """A ReadModifyWrite state cell for driving ``AddressRouterFn`` by hand."""

    def __init__(self):
        self.value = None

    def read(self):
        return self.value

    def write(self, v):
        self.value = v


class AddressLoop(Loop):
    """:class:`Loop` with this test's journeys, transfers routed as ``DecodeTransfer`` routes them, and every keyed
    event also through the address router (its copies delivered to their customers), as the streaming graph does."""

    def __init__(self, url: str):
        super().__init__(url)
        self.fn = ss.OrderedCustomerFn(CONFIG, allowed_lateness_ms=LATENESS)
        self.fn.setup()
        self.router = AddressRouterFn(url, CONFIG.link_rules())
        self.router.setup()
        self.cells: dict[str, _Cell] = {}

    def arrive(self, ev, at: int) -> None:
        self.to(at)
        res = resolve_online(self.store, ev, CONFIG.link_rules())
        for target, control in res.merges:
            self._key(target).add([control])
        self._key(res.customer_id).add([res.event])
        for addr, msg in address_messages((res.customer_id, res.event)):
            for holder, copy in self.router.process((addr, msg), record=self.cells.setdefault(addr, _Cell())):
                self._key(holder).add([copy])
        self._pump()

    def _transfer(self, target: str, ev) -> bool:
        """Addressed through the identity store (``transfer_target``) before delivery."""
        self._key(transfer_target(self.store, target, ev)).add([ev])
        return True
def records(base: int) -> tuple[list, list]:
    facts = [
        ("crm", {"event_id": "a1", "ts": iso(base), "crm_id": "A1", "email": "ann@example.com", "phone": PHONE,
                 "type": "contact_created", "timezone": "UTC"}),
        ("support", {"event_id": "t1", "ts": iso(base + 1000), "ticket_id": "TK1", "type": "ticket_resolved",
                     "email": "bob@example.com", "phone": PHONE, "severity": "low"}),
        ("consent", {"event_id": "k1", "ts": iso(base + 2000), "email": "bob@example.com", "channel": "sms",
                     "status": "granted"}),
    ]
    varying = [
        ("consent", {"event_id": "k2", "ts": iso(base + 10_000), "phone": PHONE, "channel": "sms",
                     "status": "revoked"}),
        ("orders", {"event_id": "p1", "ts": iso(base + 11_000), "email": "bob@example.com", "order_id": "O1",
                    "type": "payment_failed", "product_ids": ["SKU-1"], "amount": 10, "currency": "USD"}),
        ("crm", {"event_id": "b1", "ts": iso(base + 12_000), "crm_id": "B1", "email": "bob@example.com",
                 "type": "contact_created", "timezone": "UTC"}),
    ]
    return facts, varying


def replay(events, until: int) -> list[tuple]:
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(), until):
        out += [key(d) for d in o.decisions]
    return sorted(out)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_an_opt_out_reaches_the_holder_merged_away_after_it(order):
    facts, varying = records(T)
    events = parse(facts + varying)
    fevs, pevs = events[:len(facts)], events[len(facts):]
    loop = AddressLoop(f"memory://address-before-merge-{''.join(map(str, order))}")
    for ev in fevs:
        loop.arrive(ev, ev.ts + 100)
    at = max(e.ts for e in pevs) + 100
    for k, idx in enumerate(order):  # 0.3 s apart: the opt-out at most 2.8 s behind its time (< lateness)
        loop.arrive(pevs[idx], at + 300 * k)
    until = at + 5000
    loop.finish(until)
    sms = [(d.action, d.address, d.reason_codes) for d in loop.decisions if d.journey_id == "sms_now"]
    assert all(a != "send" for a, _addr, _r in sms), sms  # never an SMS to the opted-out number
    assert sorted(key(d) for d in loop.decisions) == replay(events, until - LATENESS)
    assert loop.dead == []
