"""The parser's fast path and its caches give the full parser's results on generated populations, malformed lines
included: the same Events, field warnings and dead letters (``repr``: types and key order too), whatever the caches
hold (a cached map is never shared between Events; a full cache is trimmed, not wrong).  Speed itself is measured in
the bench (``journeyflow.tools.bench.parse_all``), not here.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import BUILTIN_STREAMS, Event
from journeyflow.stages import parse_fast
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.parse_fast import fast_iso_ms, make_event
from journeyflow.stages.timeparse import parse_ts
from journeyflow.tools.generator import generate

HASHER = Hasher(b"perf-equivalence-key")


def _pair(config: ParseConfig = ParseConfig()) -> tuple[Parser, Parser]:
    fast, full = Parser(HASHER, config), Parser(HASHER, config)
    full._fast_streams, full._fast_direct = frozenset(), {}  # the full parser alone
    return fast, full


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> list[tuple[str, bytes]]:
    """(stream, line) of a small generated population with many malformed lines."""
    out = tmp_path_factory.mktemp("perf_equivalence")
    generate(customers=40, days=4, seed=11, out=out, malformed_rate=0.25)
    lines = []
    for stream in BUILTIN_STREAMS:
        path = Path(out) / f"{stream}.jsonl"
        if path.exists():
            lines += [(stream, line.rstrip(b"\n")) for line in path.open("rb")]
    return lines


@pytest.mark.parametrize("config", [ParseConfig(), ParseConfig(default_region="GB", merge_plus_addresses=True,
                                                               max_ahead_ms=3_600_000)])
def test_fast_and_full_parsers_agree_on_a_generated_population(population, config):
    fast, full = _pair(config)
    kinds = {"fast": 0, "dead": 0, "warned": 0}
    for i, (stream, line) in enumerate(population):
        received = 1_790_900_000_000 if i % 2 else None
        got = fast.parse_full(stream, line, f"{stream}.jsonl:{i}", received)
        want = full.parse_full(stream, line, f"{stream}.jsonl:{i}", received)
        assert repr(got) == repr(want), (stream, line)
        assert repr(fast.parse(stream, line, "s", received)) == repr(full.parse(stream, line, "s", received))
        if isinstance(got.result, DeadLetter):
            kinds["dead"] += 1
        elif got.warnings:
            kinds["warned"] += 1
        elif fast._fast.parse(stream, line, received) is not None:
            kinds["fast"] += 1
    # the comparison covered every kind of outcome (else it would prove little)
    assert kinds["fast"] > len(population) // 2 and kinds["dead"] > 10 and kinds["warned"] > 0, kinds


def test_a_record_read_as_another_stream_gets_the_same_outcome(population):
    fast, full = _pair()
    for i, (stream, line) in enumerate(population[::5]):
        for other in BUILTIN_STREAMS:
            as_text = line.decode("utf-8", "replace")
            assert repr(fast.parse_full(other, as_text, "x")) == repr(full.parse_full(other, as_text, "x"))
            assert repr(fast.parse_full(other, line, "x")) == repr(full.parse_full(other, line, "x")), (other, line)


def _web(properties: object, event_id: str = "web-1") -> bytes:
    return json.dumps({"event_id": event_id, "ts": "2026-10-01T00:24:42+00:00", "type": "page_view",
                       "anonymous_id": "e0fd09f8-9fa7-4539-9d42-5057f57cef9c", "properties": properties}).encode()


def test_cached_properties_are_never_shared_between_events():
    fast, full = _pair()
    first = fast.parse("web", _web({"path": "/a", "mail": "ann@x.com", "n": 2}, "web-1"))
    second = fast.parse("web", _web({"path": "/a", "mail": "ann@x.com", "n": 2}, "web-2"))
    assert isinstance(first, Event) and first.attrs["properties"] == second.attrs["properties"]
    assert first.attrs["properties"]["mail"].startswith("email~")  # cleaned once, kept cleaned
    first.attrs["properties"]["path"] = "/changed"  # a consumer changing one Event's map
    assert second.attrs["properties"]["path"] == "/a"
    third = fast.parse("web", _web({"path": "/a", "mail": "ann@x.com", "n": 2}, "web-3"))
    assert third.attrs["properties"]["path"] == "/a"
    assert repr(third) == repr(full.parse("web", _web({"path": "/a", "mail": "ann@x.com", "n": 2}, "web-3")))


@pytest.mark.parametrize("properties", [{"bad": [1]}, {"x": {"y": 1}}, [1, 2], "text", None, {}, {"n": 1 << 70}])
def test_properties_the_typed_decoder_refuses_take_the_full_path(properties):
    fast, full = _pair()
    for _ in range(2):  # the second time from the cache
        raw = _web(properties)
        assert repr(fast.parse_full("web", raw, "s")) == repr(full.parse_full("web", raw, "s"))


def test_full_caches_are_trimmed_and_results_stay_the_same(population, monkeypatch):
    monkeypatch.setattr(parse_fast, "_CACHE", 8)
    monkeypatch.setattr(parse_fast, "_IDS_CACHE", 8)  # (the identifier combinations' own bound)
    fast, full = _pair()
    for stream, line in population[:400]:
        assert repr(fast.parse_full(stream, line, "s")) == repr(full.parse_full(stream, line, "s"))
    assert all(len(c) <= 8 for c in fast._fast._ids_by_values.values())
    assert len(fast._fast._properties) <= 8


def test_make_event_builds_the_same_event_as_the_constructor():
    args = ("web/w-1", "web", "page_view", 1_790_000_000_000, ("anon:x", "email:y"), {"a": 1}, {"email": "a@x.com"})
    made, built = make_event(*args), Event(*args)
    assert made == built and repr(made) == repr(built) and type(made) is Event
    assert made.sort_key == built.sort_key
    with pytest.raises(AttributeError):
        made.ts = 5  # still frozen


@pytest.mark.parametrize("text", [
    "2026-10-01T00:24:42+00:00", "2026-10-01T15:08:53.883+02:00", "2026-10-01T03:06:33.115Z",
    "2026-10-01T03:06:33.1234567Z", "2026-10-01T03:06:33.9Z", "1969-12-31T23:59:59.9995-00:30",
    "2016-12-31T23:59:60Z", "2026-10-01T24:00:00Z", "0000-01-01T00:00:00Z", "2026-02-29T10:00:00Z",
    "2024-02-29T10:00:00Z", "2026-10-01T10:00:00+24:00", "2026-10-01T10:00:00+23:59", "2026-10-01T10:60:00Z",
    "2026-10-01T10:00:00-00:00", "9999-12-31T23:59:59.999+14:00", "2026-13-01T00:00:00Z",
    "2026-10-01T10:00:00-11:60", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00Z"])
def test_fast_event_time_is_parse_ts_or_left_to_it(text):
    got = fast_iso_ms(text)
    try:
        want = parse_ts(text)
    except (ValueError, OverflowError):
        want = None
    assert got is None or got == want, (text, got, want)
    if text.startswith("2026-10-01T") and want is not None and ":60" not in text and "T24" not in text:
        assert got == want  # the common form is read by the fast reader itself


@pytest.mark.parametrize("user_id", ["C1", "Ann@X.com", "user ann@x.com", 12345, "", None, "  "])
def test_segment_messages_give_the_same_result_from_the_id_cache(user_id, monkeypatch):
    from journeyflow.stages.segment import parse as segment_parse

    monkeypatch.setattr(segment_parse, "_ID_CACHE", 2)  # trimmed between messages too
    warm = Parser(HASHER)
    for i in range(4):
        msg = {"type": "track", "event": "Product Viewed", "messageId": f"m-{i}", "userId": user_id,
               "anonymousId": f"a-{i % 2}", "timestamp": "2026-10-01T10:00:00Z",
               "properties": {"product_id": "SKU-1", "note": "call +1 212 555 0101"}}
        raw = json.dumps(msg).encode()
        assert repr(warm.parse_full("track", raw, "s")) == repr(Parser(HASHER).parse_full("track", raw, "s"))
    assert len(warm._segment._id_keys) <= 2
