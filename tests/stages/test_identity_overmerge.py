"""Over-merges through shared phones and devices between people who each have their own email address.

The count caps alone (one CRM id, three emails per cluster) let a support agent's desk phone written on the tickets
of three email-only customers make them one customer (their consents, carts and addresses mixed), and a family
tablet join a CRM customer with an email-only relative.  The ``bridge_guard`` refuses such a link
(``shared_identifier``); trusted pairs (a CRM record naming the CRM id and an email) and devices still merge.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from journeyflow.adapters.identity_store import open_store
from journeyflow.stages.bounded import resolve_clusters
from journeyflow.stages.identity.graph import resolve
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.identity.rules import LinkRules, event_links
from journeyflow.stages.parse import Parser, parse_ts

T = parse_ts("2026-10-05T10:00:00+00:00")
HASHER = Hasher(b"test-key-overmerge-0123456789")
RULES = LinkRules()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def parse(recs):
    parser = Parser(HASHER)
    return [parser.parse(stream, rec) for stream, rec in recs]


def email_key(address: str) -> str:
    return HASHER.email(address)[0]


def desk_phone_tickets(n: int) -> list[tuple[str, dict]]:
    """``n`` email-only customers, each opening a ticket on which the agent wrote the desk's phone number."""
    return [("support", {"event_id": f"t{i}", "ts": iso(T + i * 60_000), "ticket_id": f"TK{i}",
                         "type": "ticket_opened", "email": f"cust{i}@example.com", "phone": "+1 (415) 555-0134",
                         "severity": "low"}) for i in range(n)]


def clusters_of(recs) -> dict[str, str]:
    events = parse(recs)
    bc = resolve_clusters(events, RULES)
    return bc.cluster_of(events), bc.link_rows


def test_a_desk_phone_on_several_customers_tickets_joins_none_of_them():
    cluster, rows = clusters_of(desk_phone_tickets(5))
    owners = {cluster[email_key(f"cust{i}@example.com")] for i in range(5)}
    assert len(owners) == 5  # five customers (before: the first three were one)
    refused = [r for r in rows if r["status"] == "refused"]
    assert [r["reason"] for r in refused] == ["shared_identifier"] * 4
    assert all(r["identifier_a"].startswith(("email:", "phone:")) for r in rows)  # hashed, no raw PII


def test_a_family_tablet_does_not_join_a_crm_customer_with_an_email_only_relative():
    recs = [
        ("crm", {"event_id": "c1", "ts": iso(T), "crm_id": "M1", "email": "mum@example.com",
                 "type": "contact_created"}),
        ("web", {"event_id": "l1", "ts": iso(T + 1000), "anonymous_id": "tablet", "type": "login",
                 "user_id": "M1"}),
        ("web", {"event_id": "l2", "ts": iso(T + 5000), "anonymous_id": "tablet", "type": "login",
                 "email": "kid@example.com"}),
    ]
    cluster, rows = clusters_of(recs)
    assert cluster["anon:tablet"] == cluster[email_key("mum@example.com")] == "crm:M1"
    assert cluster[email_key("kid@example.com")] == email_key("kid@example.com")
    assert [(r["event_id"], r["reason"]) for r in rows if r["status"] == "refused"] == [("web/l2", "shared_identifier")]


def test_trusted_pairs_and_devices_still_merge():
    """Anonymous → login → second device → login, an email-only login later named by the CRM record, a second
    email given by the CRM record, a phone on the CRM record: one customer."""
    recs = [
        ("web", {"event_id": "w1", "ts": iso(T), "anonymous_id": "d1", "type": "page_view", "url": "/"}),
        ("web", {"event_id": "l1", "ts": iso(T + 1000), "anonymous_id": "d1", "type": "login",
                 "email": "ann@example.com"}),
        ("web", {"event_id": "l2", "ts": iso(T + 2000), "anonymous_id": "d2", "type": "login",
                 "email": "Ann@Example.com"}),
        ("crm", {"event_id": "c1", "ts": iso(T + 3000), "crm_id": "A1", "email": "ann@example.com",
                 "phone": "+1 415 555 0199", "type": "contact_created"}),
        ("crm", {"event_id": "c2", "ts": iso(T + 4000), "crm_id": "A1", "email": "ann.work@example.com",
                 "type": "contact_updated"}),
        ("support", {"event_id": "t1", "ts": iso(T + 5000), "ticket_id": "TK1", "type": "ticket_opened",
                     "email": "ann.work@example.com", "phone": "+1 415 555 0199", "severity": "low"}),
    ]
    cluster, rows = clusters_of(recs)
    keys = ["anon:d1", "anon:d2", email_key("ann@example.com"), email_key("ann.work@example.com"),
            HASHER.phone("+1 415 555 0199")[0]]
    assert {cluster[k] for k in keys} == {"crm:A1"}
    assert [r for r in rows if r["status"] == "refused"] == []


@pytest.mark.parametrize("url", ["memory://overmerge", "sqlite"])
def test_stores_refuse_the_same_bridges_as_the_bounded_resolution(url, tmp_path):
    """The streaming stores apply the same guard: links in event-time order give the replay's outcomes."""
    events = parse(desk_phone_tickets(4) + [
        ("crm", {"event_id": "c9", "ts": iso(T + 600_000), "crm_id": "C9", "email": "cust3@example.com",
                 "type": "contact_created"})])
    links = [lk for ev in events for lk in event_links(ev, RULES)]
    res = resolve(links, RULES)
    expected = {(lk.event_id, lk.a, lk.b): None for lk in res.accepted}
    expected.update({(r.link.event_id, r.link.a, r.link.b): r.reason for r in res.refused})
    store = open_store(f"sqlite://{tmp_path}/ids.db" if url == "sqlite" else url, RULES)
    got = {}
    for lk in sorted(links, key=lambda r: (r.ts, r.event_id)):
        got[(lk.event_id, lk.a, lk.b)] = store.link(lk.a, lk.b, lk.ts, lk.event_id).reason
    store.close()
    assert got == expected
    assert sorted(v for v in got.values() if v) == ["shared_identifier"] * 3


def test_the_guard_can_be_switched_off():
    rules = LinkRules(bridge_guard=False)
    res = resolve([lk for ev in parse(desk_phone_tickets(3)) for lk in event_links(ev, rules)], rules)
    assert res.refused == [] and len(res.graph.clusters()) == 1
