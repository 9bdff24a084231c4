"""Issue 22: the replay's list coders (transforms.coders) give back exactly what was encoded (types, attribute
order, links), a packed value decoded by the runner is written back byte for byte and unpacks to the same records,
the replay's shuffled PCollections are encoded with them (no pickle fallback), and replay_gc restores the
collector's thresholds."""
from __future__ import annotations

import gc

import apache_beam as beam
from apache_beam.coders import registry
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.model.events import Event
from journeyflow.pipelines.replay import build_replay, replay_gc
from journeyflow.config.engine import EngineConfig
from journeyflow.tools.generator import generate
from journeyflow.transforms.coders import (DESTINATION_BATCH, KEYED_ITEMS, Batch, BatchCoder, ClusterItems,
                                           ClusterItemsCoder, EventBatch, EventBatchCoder, PackedItems,
                                           PackedPayloads, Payloads, PayloadsCoder)

EVENTS = [Event("u1", "web", "page_view", 1_700_000_000_000, ("email:a", "anon:x"), {"z": 1, "a": [1, 2], "m": None},
                {"email": "email:a"}),
          Event("u2", "orders", "order_completed", 1_700_000_000_001, (), {"total": 12.5, "items": ({"sku": "s"},)},
                {})]


def _fields(e: Event) -> tuple:
    return (e.uid, e.stream, e.type, e.ts, e.ids, e.attrs, e.contact)


def test_event_batch_round_trip_keeps_types_and_attribute_order():
    coder = EventBatchCoder()
    out = coder.decode(coder.encode(EventBatch(EVENTS)))
    assert type(out) is EventBatch
    assert [_fields(e) for e in out] == [_fields(e) for e in EVENTS]
    assert [list(e.attrs) for e in out] == [["z", "a", "m"], ["total", "items"]]
    assert type(out[0].ids) is tuple and type(out[1].attrs["items"]) is tuple


def test_cluster_items_decode_packed_reencode_byte_for_byte_and_unpack_to_the_items():
    coder = ClusterItemsCoder()
    items = ClusterItems([(EVENTS[0], (("email:a", "anon:x"),)), (EVENTS[1], ())])
    data = coder.encode(items)
    packed = coder.decode(data)
    assert isinstance(packed, PackedItems)
    assert coder.encode(packed) == data  # a runner hop copies the bytes
    for _ in range(2):  # each iteration unpacks again
        got = list(packed)
        assert [(_fields(e), links) for e, links in got] == [(_fields(e), links) for e, links in items]


def test_payloads_decode_packed_and_batches_round_trip():
    coder = PayloadsCoder()
    rows = Payloads([{"b": 1, "a": "x"}, b"line"])
    packed = coder.decode(coder.encode(rows))
    assert isinstance(packed, PackedPayloads) and coder.encode(packed) == coder.encode(rows)
    assert list(packed) == list(rows) and list(list(packed)[0]) == ["b", "a"]
    batch = BatchCoder().decode(BatchCoder().encode(Batch([("a", 1), {"k": (1,)}])))
    assert type(batch) is Batch and batch == [("a", 1), {"k": (1,)}]


def test_size_estimates_do_not_encode():
    class Unpicklable:
        def __reduce__(self):
            raise AssertionError("encoded for a size estimate")

    assert BatchCoder().get_impl().estimate_size(Batch([Unpicklable()] * 3)) > 0
    assert PayloadsCoder().get_impl().estimate_size(Payloads([Unpicklable()])) > 0


def test_a_group_by_key_of_packed_items_gives_the_same_events():
    keyed = [("c1", ClusterItems([(EVENTS[0], ())])), ("c1", ClusterItems([(EVENTS[1], (("a", "b"),))])),
             ("c2", ClusterItems([(EVENTS[1], ())]))]

    def unpack(kv):
        cluster, lists = kv
        return cluster, sorted((e.uid, links) for items in lists for e, links in items)

    with TestPipeline(runner="apache_beam.runners.portability.fn_api_runner.FnApiRunner") as p:
        out = (p | beam.Create(keyed).with_output_types(KEYED_ITEMS) | beam.GroupByKey() | beam.Map(unpack))
        assert_that(out, equal_to([("c1", [("u1", ()), ("u2", (("a", "b"),))]), ("c2", [("u2", ())])]))


def test_the_replay_graph_encodes_its_lists_with_the_registered_coders(tmp_path):
    generate(5, 2, 7, tmp_path / "in")
    p = beam.Pipeline()
    pcs = build_replay(p, str(tmp_path / "in"), str(tmp_path / "out"), EngineConfig.from_files())
    for name in ("decisions", "dead", "links", "warnings", "journey_steps", "customer_snapshots"):
        assert isinstance(registry.get_coder(pcs[name].element_type), BatchCoder), name
    assert isinstance(registry.get_coder(pcs["events"].element_type), EventBatchCoder)
    assert registry.get_coder(DESTINATION_BATCH).to_type_hint() == DESTINATION_BATCH


def test_replay_gc_raises_the_thresholds_for_the_block_and_restores_them():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with replay_gc((50_000, 20, 5)):
            assert gc.get_threshold() == (50_000, 20, 10)  # never lowered
        assert gc.get_threshold() == (700, 10, 10)
        try:
            with replay_gc():
                raise ValueError
        except ValueError:
            pass
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
