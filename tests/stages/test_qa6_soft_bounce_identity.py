"""Soft bounces that share a millisecond are counted one by one (QA of the compliance area; found by the property
test of tests/stages/test_address_properties.py on a new random history).

Input: three soft bounces of one address at the same millisecond (an ESP batch reporting with second-precision
times), and a payment failure at that millisecond.  The policy blocks an address after 3 soft bounces within 7 days.
Before: soft bounces were identified by their time only, so the three counted one and the dunning email went to the
address.  Now each carries its record's identity; the same record applied twice (a redelivery, an address copy to
another holder, a merge) still counts once, and states written before keep their bounces.
"""
from __future__ import annotations

import json

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.deliverability import SOFT_BOUNCE, soft_bounce
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState, Retention

PARSER = Parser(Hasher(b"test-key"))
CONFIG = EngineConfig.from_files()
T = "2026-10-05T12:00:00Z"


def bounce(i: int, email: str = "fam@example.com") -> tuple[str, dict]:
    return "engagement", {"event_id": f"b{i}", "ts": T, "email": email, "channel": "email", "type": "bounced",
                          "bounce_type": "soft"}


def dunning_emails(bounces: list[tuple[str, dict]], holders: tuple[str, ...] = ("A",)) -> dict[str, str]:
    """crm id -> outcome of the dunning email at T ("send" or the reason)."""
    recs = []
    for crm in holders:
        recs += [("crm", {"event_id": f"c{crm}", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                          "crm_id": crm, "email": "fam@example.com", "timezone": "UTC"}),
                 ("orders", {"event_id": f"pf{crm}", "ts": T, "type": "payment_failed", "crm_id": crm,
                             "order_id": f"O{crm}"})]
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in recs + bounces]
    assert all(isinstance(e, Event) for e in events)
    got = {}
    for _c, out in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                                 max(e.ts for e in events) + 3_600_000):
        for d in out.decisions:
            if d.decided_at == events[1].ts and (d.journey_id == "dunning" or d.action == "suppress"):
                got[d.customer_id] = "send" if d.action == "send" else d.reason_codes[0]
    return got


def test_three_soft_bounces_in_one_millisecond_block_the_address():
    assert dunning_emails([bounce(1), bounce(2)]) == {"crm:A": "send"}  # two: under the limit
    assert dunning_emails([bounce(1), bounce(2), bounce(3)]) == {"crm:A": "no_address"}


def test_the_same_bounce_twice_counts_once_and_copies_reach_every_holder():
    assert dunning_emails([bounce(1), bounce(1), bounce(2)]) == {"crm:A": "send"}  # b1 redelivered
    both = dunning_emails([bounce(1), bounce(2), bounce(3)], holders=("A", "B"))  # a shared mailbox
    assert both == {"crm:A": "no_address", "crm:B": "no_address"}


def test_state_keeps_identities_through_merges_and_reads_older_states():
    a, b = CustomerState(customer_id="crm:A"), CustomerState(customer_id="crm:B")
    for s, uids in ((a, ("e/1", "e/2")), (b, ("e/2", "e/3"))):
        for uid in uids:
            s.set_address_status("email:k", "email", soft_bounce(uid), 100)
    m = a.merge(b)
    assert m.address_block("email:k", "email", 100, soft_max=3, soft_window_ms=1000) == SOFT_BOUNCE
    assert a.address_block("email:k", "email", 100, soft_max=3, soft_window_ms=1000) is None
    assert m.merge(m).to_dict() == m.to_dict() and a.merge(b).to_dict() == b.merge(a).to_dict()
    old = CustomerState.from_dict({"v": 2, "addr_status": {"email:k": {"email": [None, None, None, [90, 95]]}}})
    old.set_address_status("email:k", "email", soft_bounce("e/9"), 99)
    assert old.address_block("email:k", "email", 100, soft_max=3, soft_window_ms=1000) == SOFT_BOUNCE
    old.expire(10_000, Retention(soft_bounces_ms=50))
    assert "email:k" not in old.addr_status  # every soft bounce aged out
