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


def test_rejoin_moves_a_merge_back_only_for_the_same_merge(opener):  # noqa: F811
    """A link between identifiers already joined, dated before the merge that joined them (the same login seen
    again with an earlier time): that merge moves back (tests/beam/test_repeated_login_pair.py)."""
    store = opener()
    assert store.link(E, D1, 11_000, "l2").merged == (D1, E)
    assert store.rejoin(E, D1, 12_000) is None  # a later repeat changes nothing
    assert store.rejoin(E, D1, 10_000) == (D1, E)
    assert store.root_at(D1, 10_500) == E and store.root_at(D1, 9_999) == D1
    assert store.rejoin(E, D1, 10_000) is None  # idempotent
    assert store.rejoin(C, D1, 5_000) is None  # not one customer
