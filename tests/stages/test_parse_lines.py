"""Parsing a chunk of records at once (``journeyflow.stages.parse_lines``) gives each record's ``parse_full``
result -- the same Events, dead letters (reasons, details, payloads) and field warnings, in order -- on generated
populations with malformed lines, on text and decoded (Avro) payloads, with declared types (no fast path) and
with the full parser alone; the replay's reader and the bench read the same records; the per-date event-time
reader equals the plain one.  Speed is measured by the bench (``tools.bench.parse_all``), not here."""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import BUILTIN_STREAMS, Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.parse_lines import jsonl_records, parse_records
from journeyflow.stages.timeparse import fast_iso_ms, fast_iso_reader
from journeyflow.tools.generator import generate

HASHER = Hasher(b"parse-lines-key")


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> dict[str, list[tuple[bytes, str]]]:
    """Per stream, (payload, source) of a small generated population with many malformed lines, as read."""
    out = Path(tmp_path_factory.mktemp("parse_lines"))
    generate(customers=40, days=4, seed=12, out=out, malformed_rate=0.25)
    read = {}
    for stream in BUILTIN_STREAMS:
        path = out / f"{stream}.jsonl"
        if path.exists():
            with path.open("rb") as f:
                read[stream] = list(jsonl_records(f, path.name, stream))
    return read


def _one_by_one(parser: Parser, stream: str, records, received_at=None):
    events, dead, warned = [], [], []
    for payload, source in records:
        out, warnings = parser.parse_full(stream, payload, source, received_at)
        (events if isinstance(out, Event) else dead).append(out)
        warned += warnings
    return events, dead, warned


def _full_only(config: ParseConfig = ParseConfig()) -> Parser:
    full = Parser(HASHER, config)
    full._fast_streams, full._fast_direct = frozenset(), {}  # the full checks alone
    return full


@pytest.mark.parametrize("config", [ParseConfig(), ParseConfig(default_region="GB", merge_plus_addresses=True,
                                                               max_ahead_ms=3_600_000)])
@pytest.mark.parametrize("received_at", [None, 1_790_900_000_000])
def test_a_chunk_gives_each_records_parse_full_result(population, config, received_at):
    kinds = {"events": 0, "dead": 0, "warned": 0}
    for stream, records in population.items():
        payloads, sources = [p for p, _ in records], [s for _, s in records]
        got = parse_records(Parser(HASHER, config), stream, payloads, sources, received_at)
        assert repr(got) == repr(_one_by_one(Parser(HASHER, config), stream, records, received_at)), stream
        assert repr(got) == repr(_one_by_one(_full_only(config), stream, records, received_at)), stream
        kinds["events"] += len(got[0])
        kinds["dead"] += len(got[1])
        kinds["warned"] += len(got[2])
    assert kinds["events"] > 100 and kinds["dead"] > 20 and kinds["warned"] > 0, kinds  # every kind of outcome


def test_text_decoded_and_foreign_payloads_in_one_chunk(population):
    """A chunk mixing bytes, text, an Avro-decoded dict, a list and None: each as parse_full reads it."""
    records = population["web"][:60]
    mixed = []
    for i, (payload, source) in enumerate(records):
        if i % 4 == 1:
            payload = payload.decode("utf-8", "replace")
        elif i % 4 == 2:
            try:
                payload = json.loads(payload)
            except ValueError:
                pass
        mixed.append((payload, source))
    mixed += [([1, 2], "x:1"), (None, "x:2"), (b"", "x:3"), ("\ufeff{}", "x:4")]
    for stream in ("web", "crm", "consent"):
        got = parse_records(Parser(HASHER), stream, [p for p, _ in mixed], [s for _, s in mixed])
        assert repr(got) == repr(_one_by_one(_full_only(), stream, mixed)), stream


def test_declared_types_and_the_segment_stream_take_parse_full(population, tmp_path):
    """Without a fast path for the stream (the Segment ``track`` stream; declared types to check on every
    event), each record is parse_full's."""
    records = population["web"][:80]
    payloads, sources = [p for p, _ in records], [s for _, s in records]
    track = [(json.dumps({"type": "track", "event": "Order Completed", "userId": "u1", "messageId": f"m{i}",
                          "timestamp": "2026-10-01T00:00:00Z", "properties": {"order_id": f"o{i}"}}).encode(),
              f"track.jsonl:{i}") for i in range(5)] + [(b"{", "track.jsonl:9")]
    got = parse_records(Parser(HASHER), "track", [p for p, _ in track], [s for _, s in track])
    assert repr(got) == repr(_one_by_one(Parser(HASHER), "track", track))
    # a parser whose fast path is off for every stream (as declared types make it) gives the same as one by one
    parser = Parser(HASHER)
    parser._fast_direct = {}
    assert repr(parse_records(parser, "web", payloads, sources)) == repr(_one_by_one(_full_only(), "web", records))


def test_the_reader_skips_blank_lines_and_splits_batches_and_line_ends():
    text = b'{"a":1}\r\n\n   \r{"b":2}\r{"batch":[{"type":"track","messageId":"m1"},{"type":"track"}]}\n'
    assert list(jsonl_records(io.BytesIO(text), "web.jsonl", "web")) == [
        (b'{"a":1}', "web.jsonl:1"), (b'{"b":2}', "web.jsonl:4"),
        (b'{"batch":[{"type":"track","messageId":"m1"},{"type":"track"}]}', "web.jsonl:5")]
    got = list(jsonl_records(io.BytesIO(text), "track.jsonl", "track"))
    assert [s for _, s in got] == ["track.jsonl:1", "track.jsonl:4", "track.jsonl:5#1", "track.jsonl:5#2"]
    assert json.loads(got[2][0])["messageId"] == "m1"


def test_the_per_date_time_reader_equals_the_plain_one():
    """fast_iso_reader (a date read once, hour and offset by table) gives fast_iso_ms of every text, also for
    impossible dates, hours, offsets and the ends of datetime's range; a tiny cache is cleared, not wrong."""
    rnd = random.Random(3)
    read = fast_iso_reader(16)
    for _ in range(40_000):
        text = (f"{rnd.choice(['2026', '0001', '9999', '0000', '1970', '1019', '8307', '2024'])}-"
                f"{rnd.choice(['01', '02', '12', '13', '00', '1x'])}-{rnd.choice(['01', '28', '29', '31', '32', '00'])}"
                f"{rnd.choice(['T', 'T', 't', ' '])}{rnd.choice(['00', '09', '23', '24', '1', '2a'])}:"
                f"{rnd.choice(['00', '59', '60'])}:{rnd.choice(['00', '59', '60'])}"
                f"{rnd.choice(['', '.1', '.12', '.123', '.1234', '.'])}"
                f"{rnd.choice(['Z', '+00:00', '-00:00', '+14:00', '-12:59', '+23:59', '+24:00', '-05:60', '+0500', ''])}")
        assert read(text) == fast_iso_ms(text), text


def test_an_event_or_a_dead_letter_for_every_record(population):
    """decided + dead letters = records read: nothing dropped by the chunked call."""
    for stream, records in population.items():
        events, dead, _warned = parse_records(Parser(HASHER), stream, [p for p, _ in records],
                                              [s for _, s in records])
        assert len(events) + len(dead) == len(records)
        assert all(isinstance(e, Event) for e in events) and all(isinstance(d, DeadLetter) for d in dead)


def test_the_replays_parse_step_gives_the_same_batches_for_a_chunk_as_record_by_record(population):
    """ParseRecordFn in batch mode (the replay's ParseAndValidate): a chunk of RawRecords (as the reader gives
    them) and the same records one at a time give the same EventBatches (each full one ``batch`` events), dead
    letters and field warnings, equal to parse_full's."""
    from apache_beam.pvalue import TaggedOutput

    from journeyflow.transforms.parse import DEAD, WARNINGS, ParseRecordFn, RawRecord

    records = [RawRecord(stream, payload, source) for stream in ("web", "engagement", "consent")
               for payload, source in population[stream][:90]]

    def run(elements):
        fn = ParseRecordFn(ParseConfig(), batch=7)
        fn.setup()
        fn.parser = Parser(HASHER)
        fn.start_bundle()
        out = [o for e in elements for o in fn.process(e)] + list(fn.finish_bundle())
        batches = [[*o.value] if hasattr(o, "value") else [*o] for o in out if not isinstance(o, TaggedOutput)]
        tagged = {t: [x for o in out if isinstance(o, TaggedOutput) and o.tag == t for x in o.value.value]
                  for t in (DEAD, WARNINGS)}
        return batches, tagged

    chunked = run([records[:100], records[100:]])
    single = run(records)
    assert repr(chunked) == repr(single)
    events, dead, warned = [], [], []
    for rec in records:
        e, d, w = _one_by_one(Parser(HASHER), rec.stream, [(rec.payload, rec.source)])
        events, dead, warned = events + e, dead + d, warned + w
    batches, tagged = chunked
    assert all(len(b) == 7 for b in batches[:-1]) and repr([e for b in batches for e in b]) == repr(events)
    assert repr(tagged[DEAD]) == repr(dead) and repr(tagged[WARNINGS]) == repr(warned)
