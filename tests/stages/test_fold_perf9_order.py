"""``fold_cluster`` folds a cluster's items in ``Event.sort_key`` order, then input order (session 9 sorts by time
first and orders only the runs of equal times by the rest of the key): equal times put status records first, then
stream rank, then uid, and items equal in all of these keep their input order."""
from __future__ import annotations

import random

from journeyflow.model.events import ADDRESS_STREAM, Event
from journeyflow.stages.bounded import fold_cluster


class _Recorder:
    """Stands in for ``ClusterFold``: returns the items in the order it was given them."""

    def run(self, items, until):
        return list(items)


def _items(rng: random.Random, n: int) -> list[tuple[Event, tuple]]:
    streams = ("web", "engagement", "consent", "orders", "crm", "support", ADDRESS_STREAM, "track")
    types = ("delivered", "bounced", "unsubscribed", "product_view", "consent_revoked")
    return [(Event(uid=f"{rng.choice('abc')}{rng.randint(0, 2)}", stream=rng.choice(streams),
                   type=rng.choice(types), ts=1_700_000_000_000 + rng.randint(0, 5), ids=("email:x",)), ())
            for _ in range(n)]


def test_fold_cluster_orders_equal_times_by_the_rest_of_the_sort_key_then_input_order():
    rng = random.Random(9)
    for _ in range(500):
        items = _items(rng, rng.randint(0, 25))
        expected = [items[i] for i in sorted(range(len(items)), key=lambda i: (items[i][0].sort_key, i))]
        got = fold_cluster(_Recorder(), items, None)
        assert [id(x) for x in got] == [id(x) for x in expected]


def test_status_record_first_at_one_millisecond():
    ts = 1_700_000_000_000
    view = (Event("a", "web", "product_view", ts, ("email:x",)), ())
    optout = (Event("z", "engagement", "unsubscribed", ts, ("email:x",)), ())
    later = (Event("b", "web", "product_view", ts - 1, ("email:x",)), ())
    got = fold_cluster(_Recorder(), [view, optout, later], None)
    assert [it[0].uid for it in got] == ["b", "z", "a"]


def test_resolve_clusters_keys_every_event_as_key_by_cluster_does(tmp_path, monkeypatch):
    """``resolve_clusters`` answers from the keyer's memory for an identifier tuple seen before (no call per event):
    every event is in the group ``key_by_cluster`` names, restricted and with the accepted links it gives."""
    from journeyflow.stages.bounded import resolve_clusters
    from journeyflow.stages.identity.clusters import key_by_cluster
    from journeyflow.stages.identity.rules import LinkRules
    from journeyflow.tools.bench import dataset, parse_all

    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "test-key")
    events, _n, _s = parse_all(dataset(30, 6, 4, tmp_path))
    rules = LinkRules()
    got = resolve_clusters(events, rules)
    expected: dict[str, list] = {}
    for ev in events:
        cluster, item = key_by_cluster(ev, got.cmap, rules)
        expected.setdefault(cluster, []).append(item)
    assert sum(len(v) for v in expected.values()) == len(events)
    assert any(len(ev.ids) > 1 for ev in events) and got.cmap.accepted
    for cluster, items in got.groups.items():
        own = [it for it in items if it[0].stream != ADDRESS_STREAM]  # (the address copies go last)
        assert own == expected.pop(cluster, [])
    assert not expected
