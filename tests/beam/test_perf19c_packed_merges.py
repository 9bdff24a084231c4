"""Issue 22 (session 19): ``ResolveIdentitiesOnline(pack=True)`` (the streaming pipeline) sends a link's
``merge_from`` inside its event's element when both go to the same customer, and ``DecideOrdered`` buffers them one
by one in that order: the same decisions, dead letters and hand-overs as one element each, with fewer elements.
"""
from __future__ import annotations

import functools
import uuid

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, MERGE_FROM, MERGE_INTO
from journeyflow.transforms.address import address_messages
from journeyflow.transforms.decide_streaming import DEAD, DECISIONS, TRANSFERS, DecideOrdered
from journeyflow.transforms.handover import GRACE_MS
from journeyflow.transforms.identity_online import (
    ADDRESSES, ResolveIdentitiesOnline, ResolveOnlineFn, RouteAddressStatus, packed_value)
from tests.beam.test_perf18c_stream_steps import _collect, _events, _seen, _stream

CONFIG = EngineConfig.from_files()


def _ev(uid: str, type_: str = "page_view", stream: str = "web") -> Event:
    return Event(uid, stream, type_, 1_000, ("crm:1",))


def test_packed_value_puts_the_merge_froms_of_the_events_customer_before_it_in_order():
    ev = _ev("web/1")
    mf1, mf2 = _ev("mergefrom:a", MERGE_FROM, IDENTITY_STREAM), _ev("mergefrom:b", MERGE_FROM, IDENTITY_STREAM)
    mi = _ev("merge:a", MERGE_INTO, IDENTITY_STREAM)
    merges = [("anon:a", mi), ("crm:1", mf1), ("anon:b", mi), ("crm:1", mf2)]
    assert packed_value("crm:1", merges, ev) == ([("anon:a", mi), ("anon:b", mi)], (mf1, mf2, ev))
    assert packed_value("crm:1", [("anon:a", mi)], ev) == ([("anon:a", mi)], ev)  # nothing to pack
    # anything else addressed to the event's customer: nothing is packed, every merge an element as before
    other = [("crm:1", mf1), ("crm:1", _ev("absorb:status:x", ABSORB, IDENTITY_STREAM))]
    assert packed_value("crm:1", other, ev) == (other, ev)


def _resolved(pack: bool) -> list:
    fn = ResolveOnlineFn(f"memory://perf19c-{uuid.uuid4().hex[:8]}", CONFIG.link_rules(), addresses=True,
                         pack=pack)
    fn.setup()
    try:
        return [o for ev in _events() for o in fn.process(ev)]
    finally:
        fn.teardown()


def _unpacked(outs: list) -> tuple[dict[str, list], list]:
    """Per key, the events it is sent in order (packed values opened); the address router's messages."""
    per_key: dict[str, list] = {}
    for o in outs:
        if isinstance(o, beam.pvalue.TaggedOutput):
            continue
        key, value = o
        per_key.setdefault(key, []).extend(value if type(value) is tuple else (value,))
    return per_key, [o.value for o in outs if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == ADDRESSES]


def test_packing_sends_each_customer_the_same_events_in_the_same_order_and_the_same_router_messages():
    plain, packed = _resolved(False), _resolved(True)
    n_packed = sum(1 for o in packed if not isinstance(o, beam.pvalue.TaggedOutput) and type(o[1]) is tuple)
    assert n_packed, "the scenario merges customers on their events"
    assert len(packed) == len(plain) - sum(len(o[1]) - 1 for o in packed
                                           if not isinstance(o, beam.pvalue.TaggedOutput) and type(o[1]) is tuple)
    assert _unpacked(packed) == _unpacked(plain)
    assert _unpacked(plain)[1] == [m for o in plain if not isinstance(o, beam.pvalue.TaggedOutput)
                                   for m in address_messages(o)]


def _decided(pack: bool, tmp_path) -> dict[str, list]:
    names = {n: tmp_path / f"{n}-{pack}" for n in ("decisions", "dead", "transfers")}
    store = f"memory://perf19c-{uuid.uuid4().hex[:8]}"
    rules = CONFIG.link_rules()
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(streaming=True)) as p:
        resolved = p | _stream(_events()) | ResolveIdentitiesOnline(store, rules, addresses=True, pack=pack)
        copies = resolved[ADDRESSES] | "ShareAddressStatus" >> RouteAddressStatus(store, rules)
        keyed = (resolved.keyed, copies) | "KeyedInputs" >> beam.Flatten()
        # (with the hand-over grace of pipelines.stream: a merge_from lost or misplaced changes what is decided)
        decided = keyed | DecideOrdered(CONFIG, 0, until_clock=False, handover_grace_ms=GRACE_MS)
        for name, pc in (("decisions", decided[DECISIONS]), ("dead", decided[DEAD]),
                         ("transfers", decided[TRANSFERS])):
            assert_that(pc | f"R{name}" >> beam.Map(repr), functools.partial(_collect, str(names[name])),
                        label=f"C{name}")
    return {n: _seen(path) for n, path in names.items()}


def test_packed_merges_give_the_same_decisions_dead_letters_and_hand_overs(tmp_path):
    plain, packed = _decided(False, tmp_path), _decided(True, tmp_path)
    assert plain["decisions"] and plain["transfers"], "the scenario decides and hands states over"
    for name in ("decisions", "dead", "transfers"):
        assert packed[name] == plain[name], name
