"""Faults: the Bigtable identity store during an outage of Bigtable (the emulator).

* A DoFn-like loop (one ``link`` per element, as ``ResolveOnlineFn`` does) meets an outage between two elements:
  the store retries with backoff while Bigtable is unreachable, resumes when it is back, and the graph has every
  link exactly once (members and guard counts equal those of an in-memory graph fed the same links).  The emulator
  keeps its data in memory, so a restarted emulator has lost every table: this outage is a TCP proxy in front of
  the emulator that drops every connection and refuses new ones, then accepts again (Bigtable itself stays up, as
  a real Bigtable does when the network or a frontend fails).
* The decision sink (``PublishLocallyFn``, the local runner's publisher of every output topic) meets a Pub/Sub
  outage (the same proxy in front of the Pub/Sub emulator): its bundle waits while the client retries, completes
  once Pub/Sub is back, and every decision reaches its topic (by ``decision_id``, which is how consumers count).
* Bounded: with Bigtable gone for longer than the retry budget, an operation fails with a clear
  ``IdentityStoreUnavailable`` naming the attempts, and the store works again once Bigtable is back.  This one
  stops and restarts a real emulator process (``GcloudEmulator.stop()/start()``): after the restart the table is
  gone (in-memory emulator) and the store says so (``NotFound``), and recreating it makes the store usable again.
"""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from journeyflow.adapters import pubsub_names as names

from journeyflow.stages.identity.graph import IdentityGraph
from journeyflow.stages.identity.rules import LinkRules
from journeyflow.stages.identity.keys import rank_key
from journeyflow.adapters.bigtable_store import BigtableIdentityStore, IdentityStoreUnavailable
from journeyflow.tools.emulator import GcloudEmulator
from tests.outage import OutageProxy

pytestmark = pytest.mark.emulator

BIG = 10**6
NO_GUARDS = LinkRules(max_cluster_size=BIG, max_per_kind={"crm": BIG, "email": BIG, "phone": BIG, "anon": BIG},
                      bridge_guard=False)
FAST_RETRIES = {"retry_attempts": 80, "retry_initial_s": 0.05, "retry_max_delay_s": 0.3, "rpc_timeout_s": 0.5}


def _links(seed: int, people: int = 4) -> list[tuple[str, str]]:
    """Links inside each person's identifiers, shuffled, with a few redelivered (exact duplicates)."""
    rng = random.Random(seed)
    links: list[tuple[str, str]] = []
    for p in range(people):
        keys = [f"crm:f{p}", f"email:{p:032x}", f"phone:{p + 9000:032x}", f"anon:f{p}a", f"anon:f{p}b"]
        rng.shuffle(keys)
        links += [(keys[i], rng.choice(keys[:i])) for i in range(1, len(keys))]
    links += rng.sample(links, 4)
    rng.shuffle(links)
    return links


def _once_reachable(op, *args, within_s: float = 30.0):
    """``op(*args)`` once the client has reconnected (gRPC backs off between reconnection attempts, so the first
    calls after an outage may still fail with the store's small retry budget used in these tests)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return op(*args)
        except IdentityStoreUnavailable:
            if time.monotonic() > deadline:
                raise


@pytest.fixture
def proxy(bigtable_emulator: GcloudEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[OutageProxy]:
    p = OutageProxy(bigtable_emulator.host)
    monkeypatch.setenv("BIGTABLE_EMULATOR_HOST", p.host)  # clients created in the test go through the proxy
    yield p
    p.close()


def test_a_dofn_loop_rides_out_an_outage_without_losing_or_duplicating_links(proxy):
    store = BigtableIdentityStore("test-project", "test-instance", f"faults-{uuid.uuid4().hex[:10]}", NO_GUARDS,
                                  create_if_missing=True, **FAST_RETRIES)
    links = _links(1)
    half = len(links) // 2
    at_outage, outage_on = threading.Event(), threading.Event()
    results: list = []
    errors: list[BaseException] = []

    def bundle() -> None:  # what ResolveOnlineFn.process does, element after element
        try:
            for i, (a, b) in enumerate(links):
                if i == half:
                    at_outage.set()
                    outage_on.wait(30)
                results.append(store.link(a, b, i, f"e{i}"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    worker = threading.Thread(target=bundle, daemon=True)
    try:
        worker.start()
        assert at_outage.wait(60), "the first half of the links did not go through"
        proxy.down()
        outage_on.set()
        deadline = time.monotonic() + 30
        while store.retries < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.retries >= 3, "the store did not retry while Bigtable was unreachable"
        assert worker.is_alive() and not errors and len(results) == half, "the loop went on without Bigtable"
        proxy.up()
        worker.join(90)
        assert not worker.is_alive() and not errors, errors
        assert len(results) == len(links) and all(r.accepted for r in results)

        reference = IdentityGraph(NO_GUARDS)
        for i, (a, b) in enumerate(links):
            reference.link(a, b, i, f"e{i}")
        clusters = reference.clusters()
        assert len(clusters) == 4
        for root, members in clusters.items():
            got = store.members(root)
            assert got == sorted(members, key=rank_key)
            assert len(got) == len(set(got)) == 5  # no member lost, none twice
            assert store.find(members[-1]) == root
            # guard counts exactly the members: no reservation was lost or applied twice
            assert store.counts(root) == (1, 1, 1, 2)
    finally:
        outage_on.set()
        worker.join(5)
        store.close()


def test_retries_are_bounded_and_the_error_names_them(proxy):
    store = BigtableIdentityStore("test-project", "test-instance", f"faults-{uuid.uuid4().hex[:10]}", NO_GUARDS,
                                  create_if_missing=True, retry_attempts=3, retry_initial_s=0.05,
                                  retry_max_delay_s=0.2, rpc_timeout_s=0.5)
    try:
        assert store.link("anon:x1", "crm:x").accepted
        proxy.down()
        with pytest.raises(IdentityStoreUnavailable, match=r"link failed 3 times in .*retry_attempts=3"):
            store.link("anon:x2", "crm:x")
        assert store.retries == 2
        proxy.up()
        assert _once_reachable(store.find, "anon:x2") == "anon:x2"  # the failed link wrote nothing
        assert store.link("anon:x2", "crm:x").accepted  # and the same store works again
        assert store.members("crm:x") == ["crm:x", "anon:x1", "anon:x2"]
        assert store.counts("crm:x") == (1, 0, 0, 2)
    finally:
        store.close()


def test_emulator_stopped_and_restarted(bigtable_emulator: GcloudEmulator):
    with GcloudEmulator("bigtable") as emulator, emulator.patched_env():
        store = BigtableIdentityStore("test-project", "test-instance", "faults", NO_GUARDS, create_if_missing=True,
                                      retry_attempts=3, retry_initial_s=0.05, retry_max_delay_s=0.2,
                                      rpc_timeout_s=0.5)
        try:
            assert store.link("anon:y1", "crm:y").accepted
            emulator.stop()
            with pytest.raises(IdentityStoreUnavailable, match="find failed 3 times"):
                store.find("anon:y1")
            emulator.start()  # same port, but an in-memory emulator comes back empty
            from google.api_core.exceptions import NotFound

            # once the client has reconnected, the lost table is reported (not retried: it is not transient)
            with pytest.raises(NotFound, match="faults"):
                _once_reachable(store.find, "anon:y1")
            assert store.create_table_if_missing()
            assert store.link("anon:y1", "crm:y").accepted
            assert store.link("anon:y1", "crm:y").accepted  # a retried link is a no-op
            assert store.members("crm:y") == ["crm:y", "anon:y1"] and store.counts("crm:y") == (1, 0, 0, 1)
        finally:
            store.close()


def test_the_decision_sink_rides_out_a_pubsub_outage(pubsub_emulator: GcloudEmulator, monkeypatch):
    from google.cloud import pubsub_v1

    from journeyflow.tools import pubsub as pt
    from journeyflow.transforms.outputs import Message
    from journeyflow.transforms.sinks.pubsub import PublishLocallyFn

    project, prefix, n = "test-project", "so-", 30
    with pubsub_emulator.patched_env():
        pt.create_topics(project, prefix=prefix)
    proxy = OutageProxy(pubsub_emulator.host)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", proxy.host)
    fn = PublishLocallyFn(project, prefix)
    fn.setup()
    ids = [f"d-{i:03d}" for i in range(n)]
    errors: list[BaseException] = []

    def bundle() -> None:
        try:
            for i, did in enumerate(ids):
                fn.process(Message("decisions-audit", json.dumps({"decision_id": did}).encode(),
                                   {"decision_id": did, "customer_id": f"crm:{i}"}))
            fn.finish_bundle()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    try:
        proxy.down()
        worker = threading.Thread(target=bundle, daemon=True)
        worker.start()
        time.sleep(4)
        assert worker.is_alive() and not errors, "the bundle ended while Pub/Sub was unreachable"
        proxy.up()
        worker.join(90)
        assert not worker.is_alive() and not errors, errors
    finally:
        fn.teardown()
        proxy.close()

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    subscriber = pubsub_v1.SubscriberClient()
    got: list[str] = []
    sub = names.output_subscription(project, "decisions-audit", prefix)
    deadline = time.monotonic() + 20
    while len(set(got)) < n and time.monotonic() < deadline:
        r = subscriber.pull(subscription=sub, max_messages=100, timeout=5)
        if r.received_messages:
            subscriber.acknowledge(subscription=sub, ack_ids=[m.ack_id for m in r.received_messages])
        got += [m.message.attributes["decision_id"] for m in r.received_messages]
    subscriber.close()
    assert sorted(set(got)) == ids  # none lost; a publish retried after a lost response may repeat one, by id
