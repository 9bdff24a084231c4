"""``IdentityStore.root_at``: the customer an identifier belonged to at an event time, on every store.

Streaming keys an event by it (``stages.identity.online.resolve_online``), so an event dated before the link that
merged its customer away is decided in that customer's own state (tests/beam/test_arrival_order_history.py).  Links
are applied in arrival order; each merge is kept with its link's time, and the path is followed while that time is
at or before the event's."""
from __future__ import annotations

from tests.stages.test_identity_store import opener  # noqa: F401 - the fixture (memory, SQLite, Bigtable emulator)

E, C, D1, D3 = "email:" + "e" * 32, "crm:C1", "anon:d1", "anon:d3"


def test_root_at_follows_merges_up_to_the_event_time(opener):  # noqa: F811
    store = opener()
    assert store.link(E, D1, 10_000, "login").merged == (D1, E)
    assert store.link(C, E, 20_000, "crm").merged == (E, C)
    assert store.link(E, D3, 5_000, "older login, arriving last").merged == (D3, C)
    assert store.link(E, D1, 30_000, "the same login again").merged is None
    got = {(k, t): store.root_at(k, t) for k in (D1, E, C, D3) for t in (4_999, 5_000, 9_999, 10_000, 19_999,
                                                                          20_000, 40_000)}
    want = {(D1, t): D1 if t < 10_000 else E if t < 20_000 else C for t in (4_999, 5_000, 9_999, 10_000, 19_999,
                                                                           20_000, 40_000)}
    want.update({(E, t): E if t < 20_000 else C for t in (4_999, 5_000, 9_999, 10_000, 19_999, 20_000, 40_000)})
    want.update({(C, t): C for t in (4_999, 5_000, 9_999, 10_000, 19_999, 20_000, 40_000)})
    want.update({(D3, t): D3 if t < 5_000 else C for t in (4_999, 5_000, 9_999, 10_000, 19_999, 20_000, 40_000)})
    assert got == want
    assert store.root_at("anon:unknown", 1) == "anon:unknown"
    assert [store.find(k) for k in (D1, E, D3)] == [C, C, C]  # find is the root now, whatever the time
    if opener.kind != "memory":  # durable: another handle on the same data knows the merge times
        assert opener().root_at(D1, 15_000) == E


def test_a_refused_link_records_no_merge(opener):  # noqa: F811
    store = opener()
    store.link(C, E, 1_000, "crm")
    assert store.link("crm:C2", E, 2_000, "second crm").reason == "kind_cap:crm"
    assert store.root_at("crm:C2", 3_000) == "crm:C2" and store.root_at(E, 3_000) == C
