"""Arrival order of an identity link and the event it identifies (issue 23.4), on the real streaming pieces in
process: ``resolve_online`` against an identity store, ``OrderedCustomerFn`` per key (driven through its state
cells as a runner does) and the state-transfer loop.  An anonymous cart and the login that identifies it, one second
apart in event time, arriving in either order 0.7 s apart (inside the allowed lateness): the decisions are the
bounded replay's, ids, customers and actions.  The same on the Pub/Sub emulator: tests/e2e/test_arrival_order_e2e.py.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from apache_beam.pvalue import TaggedOutput

from journeyflow.adapters.identity_store import open_store
from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser, parse_ts
from journeyflow.stages.identity.online import resolve_online
from journeyflow.tools.bench_state import CellDriver
from journeyflow.transforms import decide_streaming as ss

T = parse_ts("2026-10-05T10:00:00+00:00")
LATENESS = 3000

#: a send at the cart itself (the default cart journey waits an hour): under the anonymous profile it has no
#: consent and no address, under the identified one it is sent
CART_NOW = """
  - id: cart_now
    name: Cart email at once (test)
    category: marketing
    priority: 400
    entry: {event: add_to_cart, stream: web}
    reentry: {mode: always}
    steps:
      - id: cart_now_email
        send: {channel: email, content_id: cart_now}
"""
CONFIG = EngineConfig(default_text("journeys.yaml").rstrip() + "\n" + CART_NOW, "<test journeys>",
                      default_text("policy.yaml"), "<default policy>")


def records(i: int, cart_first: bool) -> list[tuple[str, dict]]:
    """Customer ``i``: a CRM contact with email consent, then an anonymous cart and the login that identifies it,
    one second apart (the cart first in event time, or the login)."""
    u, dev = f"U{i}", f"dev-{i}"
    base = T + i * 60_000
    cart_at, login_at = (base + 10_000, base + 11_000) if cart_first else (base + 11_000, base + 10_000)
    iso = lambda ms: datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()  # noqa: E731
    return [
        ("crm", {"event_id": f"c{i}", "ts": iso(base), "crm_id": u, "email": f"u{i}@example.com",
                 "type": "contact_created", "lifecycle_stage": "customer", "timezone": "UTC"}),
        ("consent", {"event_id": f"k{i}", "ts": iso(base + 1000), "crm_id": u, "channel": "email",
                     "status": "granted"}),
        ("web", {"event_id": f"cart{i}", "ts": iso(cart_at), "anonymous_id": dev, "type": "add_to_cart",
                 "product_id": "SKU-1"}),
        ("web", {"event_id": f"login{i}", "ts": iso(login_at), "anonymous_id": dev, "type": "login", "user_id": u}),
    ]


def parse(recs):
    parser = Parser(Hasher.from_env())
    return [parser.parse(stream, rec) for stream, rec in recs]


def key(d) -> tuple:
    return (d.decision_id, d.customer_id, d.action, d.channel, d.reason_codes)


def bounded_decisions(events, until: int) -> list[tuple]:
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(), until):
        out += [key(d) for d in o.decisions]
    return sorted(out)


class Loop:
    """The streaming graph in process: identity store, one DoFn key each, transfers delivered at once."""

    def __init__(self, url: str):
        self.store = open_store(url, CONFIG.link_rules())
        self.fn = ss.OrderedCustomerFn(CONFIG, allowed_lateness_ms=LATENESS)
        self.fn.setup()
        self.keys: dict[str, CellDriver] = {}
        self.decisions: list = []
        self.dead: list = []
        self.wm = 0

    def _key(self, k: str) -> CellDriver:
        if k not in self.keys:
            self.keys[k] = CellDriver(self.fn, k)
        return self.keys[k]

    def _pump(self) -> None:
        """Advances every key to the watermark until no state transfer is left in flight: decisions and dead
        letters collected, each transfer given to :meth:`_transfer` (delivered: another round)."""
        busy = True
        while busy:
            busy = False
            for d in list(self.keys.values()):
                self._before_advance(d)
                d.advance(self.wm)
                outs, d.outputs = d.outputs, []
                for o in outs:
                    if isinstance(o, TaggedOutput) and o.tag == ss.TRANSFERS:
                        busy = self._transfer(*o.value) or busy
                    elif isinstance(o, TaggedOutput):
                        if o.tag == ss.DEAD:
                            self.dead.append(o.value)
                    else:
                        self.decisions.append(o)

    def _before_advance(self, d: CellDriver) -> None:
        """Hook: what happens to a key before it advances (nothing here)."""

    def _transfer(self, target: str, ev) -> bool:
        """Hook: one state transfer (``TRANSFERS`` output), delivered at once to the key it names; True when it was
        delivered (the keys go round again)."""
        self._key(target).add([ev])
        return True

    def to(self, at: int) -> None:
        """Move the watermark to ``at`` in 250 ms steps (the local runner's watermark follows the wall clock), the
        transfers of each step delivered before the next."""
        while self.wm < at:
            self.wm = min(at, self.wm + 250) if self.wm else at
            self._pump()

    def arrive(self, ev, at: int) -> None:
        """``ev`` arrives when the watermark (the local runner's: wall clock) is at ``at``."""
        self.to(at)
        res = resolve_online(self.store, ev, CONFIG.link_rules())
        for target, control in res.merges:
            self._key(target).add([control])
        self._key(res.customer_id).add([res.event])
        self._pump()

    def finish(self, at: int) -> None:
        self.to(at)


@pytest.mark.parametrize("cart_first,reversed_arrival", list(itertools.product([True, False], [True, False])))
def test_link_and_event_in_either_arrival_order_give_the_replay_decisions(cart_first, reversed_arrival):
    events = parse(records(0, cart_first))
    facts, pair = events[:2], sorted(events[2:], key=lambda e: e.ts)
    loop = Loop(f"memory://arrival-{cart_first}-{reversed_arrival}")
    for ev in facts:
        loop.arrive(ev, ev.ts + 100)
    last = pair[-1].ts
    arrivals = [(pair[1], last + 100), (pair[0], last + 800)] if reversed_arrival else \
        [(pair[0], pair[0].ts + 100), (pair[1], last + 100)]
    for ev, at in arrivals:
        loop.arrive(ev, at)
    loop.finish(last + 120_000)
    assert sorted(key(d) for d in loop.decisions) == bounded_decisions(events, last + 120_000 - LATENESS)
    assert loop.dead == []
    # the decision at the cart is the replay's: under the anonymous id when the cart came first (no consent, no
    # address), sent to the identified customer when the login came first
    cart = [(d.customer_id.split(":")[0], d.action) for d in loop.decisions if d.journey_id == "cart_now"]
    # the cart under the anonymous id when it came first (no consent, no address: nothing proposed), sent to the
    # identified customer when the login came first
    assert cart == ([] if cart_first else [("crm", "send")])
