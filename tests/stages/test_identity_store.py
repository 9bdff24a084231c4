"""Identity stores: the same behaviour over memory, SQLite and Bigtable (real emulator)."""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from journeyflow.stages.identity.keys import KINDS
from journeyflow.stages.identity.graph import IdentityGraph, LinkOutcome
from journeyflow.stages.identity.rules import LinkRules
from journeyflow.tools.emulator import GcloudEmulator, _port_open
from journeyflow.adapters.identity_store import IdentityStore, open_store
from journeyflow.adapters.sqlite_store import SqliteIdentityStore

BIG = 10**6
NO_GUARDS = LinkRules(max_cluster_size=BIG, max_per_kind={"crm": BIG, "email": BIG, "phone": BIG, "anon": BIG},
                      bridge_guard=False)

Opener = Callable[..., IdentityStore]


def _email(i: int) -> str:
    return f"email:{i:032x}"


def _phone(i: int) -> str:
    return f"phone:{i + 7000:032x}"


@pytest.fixture(params=["memory", "sqlite", pytest.param("bigtable", marks=pytest.mark.emulator)])
def opener(request: pytest.FixtureRequest, tmp_path) -> Iterator[Opener]:
    """``opener(rules, fresh=False)``: a store on this test's data (``fresh=True``: on new, empty data).

    Two stores opened without ``fresh`` share the SQLite file / Bigtable table / in-process memory graph.
    """
    kind = request.param
    if kind == "bigtable":
        request.getfixturevalue("bigtable_emulator")
    opened: list[IdentityStore] = []

    def new_url() -> str:
        if kind == "memory":
            return f"memory://test-{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            return f"sqlite://{tmp_path}/identity-{uuid.uuid4().hex[:8]}.db"
        return f"bigtable://test-project/test-instance/ids-{uuid.uuid4().hex[:12]}"

    url = new_url()

    def open_(rules: LinkRules | None = None, fresh: bool = False) -> IdentityStore:
        options = {"create_if_missing": True} if kind == "bigtable" else {}
        store = open_store(new_url() if fresh else url, rules, **options)
        opened.append(store)
        return store

    def many(rules: LinkRules | None, n: int) -> list[IdentityStore]:
        """``n`` handles on the same data (one shared instance for memory)."""
        return [open_(rules)] * n if kind == "memory" else [open_(rules) for _ in range(n)]

    open_.kind = kind  # type: ignore[attr-defined]
    open_.many = many  # type: ignore[attr-defined]
    yield open_
    for store in opened:
        store.close()


def _random_links(seed: int, n_people: int = 8, per_person: int = 4, extra: int = 10) -> list[tuple[str, str]]:
    """Links inside each person's identifiers (spanning trees + extra edges), shuffled."""
    rng = random.Random(seed)
    links = []
    for p in range(n_people):
        keys = [f"crm:p{p}", _email(p), _phone(p)] + [f"anon:p{p}d{j}" for j in range(per_person - 3)]
        rng.shuffle(keys)
        links += [(keys[i], rng.choice(keys[:i])) for i in range(1, len(keys))]
        links += [tuple(rng.sample(keys, 2)) for _ in range(extra // n_people + 1)]
    rng.shuffle(links)
    return links  # type: ignore[return-value]


def test_link_find_members(opener: Opener) -> None:
    store = opener()
    email = _email(1)
    assert store.find("anon:x") == "anon:x"
    assert store.members("anon:x") == ["anon:x"]
    assert store.link("anon:x", email, ts=1, event_id="e1") == LinkOutcome(True, None, email, ("anon:x", email))
    assert store.link("anon:y", "anon:x") == LinkOutcome(True, None, email, ("anon:y", email))
    assert store.link("anon:x", "crm:7") == LinkOutcome(True, None, "crm:7", (email, "crm:7"))
    for key in ("anon:x", "anon:y", email, "crm:7"):
        assert store.find(key) == "crm:7"
    assert store.members("crm:7") == ["crm:7", email, "anon:x", "anon:y"]
    assert store.members("anon:y") == store.members("crm:7")
    with pytest.raises(ValueError):
        store.link("anon:x", "ssn:123")


def test_idempotent(opener: Opener) -> None:
    store = opener()
    first = store.link("anon:a", "anon:b")
    assert first == LinkOutcome(True, None, "anon:a", ("anon:b", "anon:a"))
    for a, b in [("anon:a", "anon:b"), ("anon:b", "anon:a"), ("anon:a", "anon:a")]:
        assert store.link(a, b) == LinkOutcome(True, None, "anon:a", None)
    assert store.members("anon:a") == ["anon:a", "anon:b"]


def test_shared_anonymous_id_is_refused(opener: Opener) -> None:
    store = opener()
    outcomes = [store.link(f"crm:p{i:02d}", "anon:tablet", ts=i, event_id=f"login-{i}") for i in range(30)]
    assert outcomes[0] == LinkOutcome(True, None, "crm:p00", ("anon:tablet", "crm:p00"))
    for i, outcome in enumerate(outcomes[1:], start=1):
        assert outcome == LinkOutcome(False, "kind_cap:crm", f"crm:p{i:02d}", None)
    assert store.find("anon:tablet") == "crm:p00"
    assert len({store.find(f"crm:p{i:02d}") for i in range(30)}) == 30
    assert store.members("crm:p29") == ["crm:p29"]


def test_cluster_size_cap(opener: Opener) -> None:
    store = opener(LinkRules(max_cluster_size=4))
    hub = _email(0)
    reasons = [store.link(hub, f"anon:a{i}").reason for i in range(6)]
    assert reasons == [None, None, None, "cluster_size_cap", "cluster_size_cap", "cluster_size_cap"]
    # merging two small clusters is checked on the combined counts
    store.link("anon:b0", "anon:b1")
    assert store.link("anon:b0", hub).reason == "cluster_size_cap"
    assert len(store.members(hub)) == 4


@pytest.mark.parametrize("seed", [1, 2])
def test_same_clusters_as_identity_graph_in_any_order(opener: Opener, seed: int) -> None:
    links = _random_links(seed)
    # Bridges between people so that guards trigger for some links.
    rng = random.Random(seed)
    links += [(f"anon:p{rng.randrange(8)}d0", _email(rng.randrange(8))) for _ in range(4)]
    graph = IdentityGraph()
    store = opener()
    for i, (a, b) in enumerate(links):
        assert store.link(a, b, ts=i, event_id=f"e{i}") == graph.link(a, b, ts=i, event_id=f"e{i}")
    keys = {k for pair in links for k in pair}
    for key in keys:
        assert store.find(key) == graph.find(key)
    for root in {graph.find(k) for k in keys}:
        assert store.members(root) == graph.members(root)

    # Without guards the clusters do not depend on the order.
    plain = _random_links(seed)
    unguarded = [opener(NO_GUARDS, fresh=True) for _ in range(2)]
    for store_, order in zip(unguarded, (plain, list(reversed(plain)))):
        for a, b in order:
            assert store_.link(b, a).accepted
    assert {k: unguarded[0].find(k) for k in keys} == {k: unguarded[1].find(k) for k in keys}


def test_sqlite_is_durable(tmp_path) -> None:
    path = tmp_path / "ids.db"
    url = f"sqlite://{path}"
    store = open_store(url)
    store.link("anon:x", _email(3), ts=10, event_id="e1")
    store.link("crm:9", "anon:x", ts=11, event_id="e2")
    store.link("crm:8", "anon:x", ts=12, event_id="e3")  # refused: second crm id
    before = {k: store.find(k) for k in ("anon:x", _email(3), "crm:9", "crm:8")}
    store.close()
    store.close()  # idempotent

    reopened = open_store(url)
    assert isinstance(reopened, SqliteIdentityStore)
    assert {k: reopened.find(k) for k in before} == before == {
        "anon:x": "crm:9", _email(3): "crm:9", "crm:9": "crm:9", "crm:8": "crm:8"
    }
    assert reopened.members("crm:9") == ["crm:9", _email(3), "anon:x"]
    assert reopened.counts("anon:x") == (1, 1, 0, 1)
    assert reopened.merges() == [("anon:x", _email(3), 10, "e1"), (_email(3), "crm:9", 11, "e2")]
    assert reopened.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()
    with pytest.raises(RuntimeError):
        reopened.find("anon:x")

    full = open_store(f"sqlite://{path}?synchronous=full")
    assert full.find("anon:x") == "crm:9"
    full.close()


def test_open_store_urls(tmp_path) -> None:
    assert open_store(f"memory://{uuid.uuid4().hex}").find("anon:a") == "anon:a"
    with pytest.raises(ValueError, match="scheme"):
        open_store("redis://localhost/0")
    with pytest.raises(ValueError, match="project/instance/table"):
        open_store("bigtable://project/instance")
    with pytest.raises(ValueError, match="path"):
        open_store("sqlite://")
    with pytest.raises(ValueError, match="synchronous"):
        open_store(f"sqlite://{tmp_path}/x.db?synchronous=sometimes")


def _run_threads(workers: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(w)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]


@pytest.mark.parametrize("n_threads", [6])
def test_concurrent_links_match_sequential_run(opener: Opener, n_threads: int) -> None:
    links = _random_links(7, n_people=10, per_person=5, extra=30)
    stores = opener.many(NO_GUARDS, n_threads)  # type: ignore[attr-defined]
    # Each link is applied by two threads, in different orders: overlapping, racing unions.
    assignments: list[list[tuple[str, str]]] = [[] for _ in range(n_threads)]
    for i, pair in enumerate(links):
        assignments[i % n_threads].append(pair)
        assignments[(i + 1) % n_threads].append(pair[::-1])
    for i, part in enumerate(assignments):
        random.Random(i).shuffle(part)

    def worker(store: IdentityStore, part: list[tuple[str, str]]) -> Callable[[], None]:
        return lambda: [store.link(a, b) for a, b in part]  # type: ignore[func-returns-value]

    _run_threads([worker(s, p) for s, p in zip(stores, assignments)])

    graph = IdentityGraph(NO_GUARDS)
    for a, b in links:
        graph.link(a, b)
    check = stores[0]
    for key in {k for pair in links for k in pair}:
        assert check.find(key) == graph.find(key)
    for root, members in graph.clusters().items():
        assert check.members(root) == members
        if hasattr(check, "counts"):
            expected = tuple(sum(1 for m in members if m.startswith(k + ":")) for k in KINDS)
            assert check.counts(root) == expected  # no reservation left behind


def test_concurrent_links_never_overshoot_caps(opener: Opener) -> None:
    rules = LinkRules(max_cluster_size=5, max_per_kind={"anon": 100})
    n_threads = 6
    stores = opener.many(rules, n_threads)  # type: ignore[attr-defined]
    hub, shared_phone = _email(0), "phone:" + "9" * 32
    hub_results: list[LinkOutcome] = []
    crm_results: list[LinkOutcome] = []

    def worker(store: IdentityStore, t: int) -> Callable[[], None]:
        def run() -> None:
            # One shared phone for everybody: only one CRM id may win it.
            crm_results.append(store.link(f"crm:c{t}", shared_phone))
            for i in range(5):  # 30 anonymous ids for a hub that only has room for 4
                hub_results.append(store.link(f"anon:t{t}i{i}", hub))

        return run

    _run_threads([worker(s, t) for t, s in enumerate(stores)])
    members = stores[0].members(hub)
    assert len(members) <= 5
    assert sum(1 for o in hub_results if o.accepted) == len(members) - 1
    assert {o.reason for o in hub_results if not o.accepted} == {"cluster_size_cap"}
    assert sum(1 for o in crm_results if o.accepted) == 1
    assert {o.reason for o in crm_results if not o.accepted} == {"kind_cap:crm"}
    phone_cluster = stores[0].members(shared_phone)
    assert len(phone_cluster) == 2 and phone_cluster[0].startswith("crm:")
    if hasattr(stores[0], "counts"):
        assert stores[0].counts(hub) == (0, 1, 0, len(members) - 1)


@pytest.mark.emulator
def test_bigtable_create_table_if_missing(bigtable_emulator: GcloudEmulator) -> None:
    from journeyflow.adapters.bigtable_store import BigtableIdentityStore

    store = BigtableIdentityStore("test-project", "test-instance", f"ids-{uuid.uuid4().hex[:12]}")
    try:
        assert store.create_table_if_missing() is True
        assert store.create_table_if_missing() is False
        assert store.link("anon:a", "crm:1").accepted
        reopened = open_store(f"bigtable://test-project/test-instance/{store.table_id}")
        assert reopened.find("anon:a") == "crm:1"
        reopened.close()
    finally:
        store.close()


@pytest.mark.emulator
def test_emulator_outage_and_restart_on_same_port(bigtable_emulator: GcloudEmulator) -> None:
    # A separate emulator: the session one is shared by the other tests.
    with GcloudEmulator("bigtable") as emulator:
        host, port = emulator.host, emulator.port
        assert emulator.env() == {"BIGTABLE_EMULATOR_HOST": host}
        emulator.stop()
        assert not emulator.running and not _port_open("127.0.0.1", port)
        emulator.start()
        assert emulator.host == host and emulator.running
        assert _port_open("127.0.0.1", port)
        with emulator.patched_env() as env:
            assert os.environ["BIGTABLE_EMULATOR_HOST"] == env["BIGTABLE_EMULATOR_HOST"] == host
            store = open_store("bigtable://p/i/t", create_if_missing=True)
            assert store.link("anon:a", "anon:b").accepted
            store.close()
        assert os.environ["BIGTABLE_EMULATOR_HOST"] == bigtable_emulator.host  # restored
    assert not _port_open("127.0.0.1", port)


@pytest.mark.emulator
def test_bigtable_lost_race_releases_the_reservation(bigtable_emulator: GcloudEmulator) -> None:
    url = f"bigtable://test-project/test-instance/ids-{uuid.uuid4().hex[:12]}"
    store, other = open_store(url, create_if_missing=True), open_store(url)
    real_attach = store._attach  # type: ignore[attr-defined]
    raced: list[str] = []

    def attach_after_a_concurrent_link(loser, winner_key):  # type: ignore[no-untyped-def]
        if not raced:  # another writer changes the loser between our reservation and our attach
            raced.append(loser.key)
            assert other.link(loser.key, "anon:zz").accepted
        return real_attach(loser, winner_key)

    store._attach = attach_after_a_concurrent_link  # type: ignore[attr-defined]
    try:
        hub = _email(5)
        assert store.link(hub, "anon:b") == LinkOutcome(True, None, hub, ("anon:b", hub))
        assert raced == ["anon:b"]
        assert store.members(hub) == [hub, "anon:b", "anon:zz"]
        assert store.counts(hub) == (0, 1, 0, 2)  # the failed reservation was subtracted again
    finally:
        store.close()
        other.close()


@pytest.mark.emulator
def test_bigtable_dead_writer_reservation_is_conservative(bigtable_emulator: GcloudEmulator) -> None:
    url = f"bigtable://test-project/test-instance/ids-{uuid.uuid4().hex[:12]}"
    store = open_store(url, LinkRules(max_cluster_size=3), create_if_missing=True)
    try:
        hub = _email(6)
        store.link(hub, "anon:a")
        # A writer reserves room for anon:ghost on the hub and dies before attaching it.
        store._reserve(store._find_root(hub), store._find_root("anon:ghost"), "0" * 16)  # type: ignore[attr-defined]
        assert store.counts(hub) == (0, 1, 0, 2)
        assert store.members(hub) == [hub, "anon:a"]  # the stale child pointer is ignored
        assert store.find("anon:ghost") == "anon:ghost"
        # The reservation may still complete, so its capacity stays taken: refused, never overshot.
        assert store.link("anon:c", hub).reason == "cluster_size_cap"
        assert store.link("anon:ghost", hub).accepted is False
    finally:
        store.close()
