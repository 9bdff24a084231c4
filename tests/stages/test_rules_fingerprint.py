"""Equal link rules name one in-process identity graph, whatever the iteration order of their sets.

A ``memory://`` store is keyed by its URL and its link rules (``adapters.memory_store``).  The key was
``model_dump_json()``, which writes a frozenset in iteration order; two equal sets built in different insertion orders
can iterate differently (hash collisions), so a DoFn's unpickled rules now and then opened an empty graph
(``tests/beam/test_handover_to_merged_customer.py`` failed by chance)."""
from __future__ import annotations

import itertools
import pickle

from journeyflow.adapters.memory_store import open_memory_store
from journeyflow.stages.identity.rules import LinkRules, StreamLinks


def _equal_sets_iterating_differently() -> tuple[frozenset, frozenset]:
    """Two equal frozensets of event type names whose iteration orders differ (two names colliding in a small
    hash table, inserted in both orders)."""
    names = [f"type_{i}" for i in range(200)]
    for a, b in itertools.combinations(names, 2):
        x, y = frozenset([a, b]), frozenset([b, a])
        if list(x) != list(y):
            return x, y
    raise AssertionError("no colliding pair among 200 names")  # (cannot happen with an 8-slot table)


def test_equal_rules_have_one_fingerprint_whatever_their_sets_iteration_order():
    x, y = _equal_sets_iterating_differently()
    r1 = LinkRules(streams={"web": StreamLinks(event_types=x)})
    r2 = LinkRules(streams={"web": StreamLinks(event_types=y)})
    assert r1 == r2
    assert r1.fingerprint() == r2.fingerprint()
    assert r1.fingerprint() == pickle.loads(pickle.dumps(r2)).fingerprint()


def test_a_memory_store_opened_with_equal_rules_is_the_same_graph():
    x, y = _equal_sets_iterating_differently()
    r1 = LinkRules(streams={"web": StreamLinks(event_types=x)})
    r2 = pickle.loads(pickle.dumps(LinkRules(streams={"web": StreamLinks(event_types=y)})))
    url = "memory://fingerprint-test"
    store = open_memory_store(url, None, r1)
    store.link("crm:C1", "email:" + "e" * 32, 1_000, "crm/c1")
    assert open_memory_store(url, None, r2) is store
    assert open_memory_store(url, None, r2).root_at("email:" + "e" * 32, 2_000) == store.root_at("crm:C1", 2_000)


def test_different_rules_still_name_different_graphs():
    assert LinkRules().fingerprint() != LinkRules(max_cluster_size=3).fingerprint()
