"""Issue 22 (s20d): the replay's events wait for the cluster map as field tuples (``EventRows``) and are keyed as
such (``ClusterRows``), and its list coders pack with marshal (pickle for what marshal refuses).  The keyed items
are those of the in-process path (``stages.bounded.resolve_clusters``), opt-out copies and links included; a
ClusterRows decodes to the same items as the same ``(event, links)`` pairs encoded; a packed list gives back its
values with their types (a value marshal refuses goes through pickle, whole); the parse's ``event_time``
distribution, updated through the step's cell, has the count, sum, min and max of the accepted events."""
from __future__ import annotations

import enum
import json
import math
from collections import defaultdict
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import ADDRESS_STREAM, Event
from journeyflow.pipelines.replay import ReplayJob
from journeyflow.stages.bounded import resolve_clusters
from journeyflow.stages.identity.clusters import build_cluster_map
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.tools.generator import generate
from journeyflow.transforms.address import _address_entries
from journeyflow.transforms.coders import (ClusterItems, ClusterItemsCoder, ClusterRows, EventRows, EventRowsCoder,
                                           PackedPayloads, Payloads, PayloadsCoder, event_rows, pack, unpack)
from journeyflow.transforms.identity import WeighedMap, _batch_links, _KeyByClusterFn
from journeyflow.transforms.parse import cell_update
from journeyflow.transforms.sources import _ReadFileFn, replay_files
from tests.stages.test_qa13c_anonymous_opt_outs import LATER, login
from tests.stages.test_qa14b_opt_outs_naming_two_people import BASE, opt_out


def _events(data) -> list[Event]:
    job = ReplayJob.from_argv(["--input", str(data), "--output", str(data) + "-out"])
    parser, reader, events = Parser(Hasher.from_env(), job.parse_config), _ReadFileFn(), []
    for stream_path in replay_files(str(data)):
        for rec in reader._records(stream_path):
            res = parser.parse_full(rec.stream, rec.payload, rec.source, rec.received_at)
            if isinstance(res.result, Event):
                events.append(res.result)
    return events


def _population(tmp_path) -> list[Event]:
    generate(40, 6, 3, tmp_path / "gen")
    inp = tmp_path / "qa14b"  # an opt-out keyed by B naming A's device: a copy to A's cluster
    inp.mkdir()
    records = BASE + [opt_out("consent revoke", anonymous_id="dev-9"), login(LATER)]
    for stream in {s for s, _ in records}:
        (inp / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for s, r in records if s == stream))
    return _events(tmp_path / "gen") + _events(inp)


def _fields(ev: Event, links) -> tuple:
    return (ev.uid, ev.stream, ev.type, ev.ts, ev.ids, ev.attrs, ev.contact, links)


def test_key_by_cluster_on_rows_gives_the_in_process_items(tmp_path):
    events = _population(tmp_path)
    rules = EngineConfig.from_files().link_rules()
    expected = resolve_clusters(events, rules)
    cmap, _rows = build_cluster_map([lk for b in (events[:500], events[500:]) for lk in _batch_links(b, rules)[1]],
                                    rules)
    fn = _KeyByClusterFn(rules)
    fn.start_bundle()
    got: dict[str, list] = defaultdict(list)
    for batch in (events[:500], events[500:]):  # two batches: the keyer's memory of identifier tuples carries over
        for cluster, items in fn.process(event_rows(batch), WeighedMap(cmap)):
            got[cluster] += items
    for wv in fn.finish_bundle():
        cluster, items = wv.value
        assert type(items) is ClusterRows
        got[cluster] += items
    want = {c: sorted((_fields(ev, links) for ev, links in items if ev.stream != ADDRESS_STREAM), key=repr)
            for c, items in expected.groups.items()}
    assert {c: sorted(items, key=repr) for c, items in got.items()} == {c: v for c, v in want.items() if v}
    rows = [r for items in got.values() for r in items]
    assert any(r[7] for r in rows), "an event with accepted links"
    assert any(r[0].startswith("absorb:status:") for r in rows), "an opt-out copied to another cluster"
    assert len(rows) > len(events) // 2


def test_address_entries_of_rows_are_those_of_the_same_items_as_events(tmp_path):
    events = _population(tmp_path)
    rules = EngineConfig.from_files().link_rules()
    groups = resolve_clusters(events, rules).groups
    for cluster, items in groups.items():
        own = [(ev, links) for ev, links in items if ev.stream != ADDRESS_STREAM]
        rows = ClusterRows(_fields(ev, links) for ev, links in own)
        assert list(_address_entries((cluster, rows))) == list(_address_entries((cluster, ClusterItems(own))))
    assert any(list(_address_entries((c, ClusterItems(i)))) for c, i in groups.items())


def test_cluster_rows_decode_to_the_events_of_the_same_pairs():
    ev = Event("web/1", "web", "page_view", 5, ("email:a", "anon:x"), {"z": [1, (2,)], "a": None}, {"email": "e"})
    pairs = ClusterItems([(ev, (("email:a", "anon:x"),)), (ev, ())])
    coder = ClusterItemsCoder()
    data = coder.encode(ClusterRows(_fields(e, links) for e, links in pairs))
    got = list(coder.decode(data))
    assert got == list(coder.decode(coder.encode(pairs)))  # (marshal's bytes depend on reference counts: values)
    assert [_fields(e, links) for e, links in got] == [_fields(e, links) for e, links in pairs]
    assert all(type(e) is Event for e, _ in got) and list(got[0][0].attrs) == ["z", "a"]
    rows = EventRowsCoder().decode(EventRowsCoder().encode(event_rows([ev])))
    assert type(rows) is EventRows and rows == [_fields(ev, ())[:7]]


class Color(str, enum.Enum):
    RED = "red"


class Pair(NamedTuple):
    a: int
    b: str


def test_pack_keeps_types_and_falls_back_to_pickle_for_what_marshal_refuses():
    plain = [("s", 1, True, None, -0.0, 2.5, b"x", (1, [2, {"k": (3,)}])), {"b": 1, "a": {1: frozenset({2})}},
             "\ud800", 10 ** 30]
    data = pack(plain)
    assert data[0] != 0x80  # marshal
    back = unpack(data)
    assert back == plain and [type(x) for x in back[0]] == [type(x) for x in plain[0]]
    assert list(back[1]) == ["b", "a"] and math.copysign(1, back[0][4]) == -1
    for odd in ([Color.RED, "red"], [Pair(1, "b")], [{"k": Color.RED}]):
        data = pack(odd)
        assert data[0] == 0x80  # pickle, whole
        back = unpack(data)
        assert back == odd and [type(x) for x in back] == [type(x) for x in odd]
    payloads = PayloadsCoder().decode(PayloadsCoder().encode(Payloads([b"line", {"t": Color.RED}])))
    assert isinstance(payloads, PackedPayloads) and list(payloads) == [b"line", {"t": Color.RED}]


class _Times(beam.DoFn):
    def __init__(self):
        self.dist = Metrics.distribution("test", "times")

    def process(self, values):
        update = cell_update(self.dist)
        for v in values:
            update(v)
        yield len(values)


def test_cell_update_keeps_beams_distribution_and_falls_back_outside_a_runner():
    values = [[5, -3, 7], [100, 2], [7]]
    with beam.Pipeline(runner="apache_beam.runners.portability.fn_api_runner.FnApiRunner") as p:
        _ = p | beam.Create(values) | beam.ParDo(_Times())
    res = p.result.metrics().query(MetricsFilter().with_name("times"))["distributions"]
    flat = [v for vs in values for v in vs]
    d = res[0].committed
    assert (d.count, d.sum, d.min, d.max) == (len(flat), sum(flat), min(flat), max(flat))
    dist = Metrics.distribution("test", "outside")
    assert cell_update(dist) == dist.update  # no tracker: Beam's own updater (which then records nothing)


def test_read_lines_in_chunks_gives_the_records_and_parses_as_raw_records(tmp_path):
    from journeyflow.stages.parse import ParseConfig
    from journeyflow.transforms.parse import ParseRecordFn, RawRecord, RecordLines
    generate(10, 3, 5, tmp_path / "gen")
    track = tmp_path / "gen" / "track.jsonl"  # blank lines, CRLF and a Segment batch envelope
    track.write_bytes(b'\r\n{"type": "track"}\r\n\n{"batch": [{"type": "track"}, {"type": "identify"}]}\n[1]')
    for stream, path in replay_files(str(tmp_path / "gen")):
        fn = _ReadFileFn(chunk=7)
        chunks = list(fn.process((stream, path)))
        assert all(type(c) is RecordLines and c.stream == stream and len(c) == len(c.sources) <= 7 for c in chunks)
        got = [RawRecord(stream, p, s) for c in chunks for p, s in zip(c, c.sources)]
        assert got == list(_ReadFileFn()._records((stream, path))) and got
        parse = ParseRecordFn(ParseConfig(), batch=5)
        parse.setup()

        def results(elements):
            parse.start_bundle()
            out = [x for e in elements for x in parse.process(e)] + [getattr(x, "value", x)
                                                                      for x in parse.finish_bundle()]
            return [(getattr(x, "tag", None), [repr(r) for r in getattr(x, "value", x)]) for x in out]

        assert results(chunks) == results([got[i:i + 7] for i in range(0, len(got), 7)])
