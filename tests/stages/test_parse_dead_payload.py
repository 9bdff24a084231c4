"""A dead letter's payload is built from the JSON object the parser already loaded (``Parser._parse`` hands it to
``Parser._dead``) instead of a second decode of the record: that is only right if the checks never change the
object they read.  Both are checked here on generated populations (malformed lines, Segment messages) and on
mutated copies of their lines (fields deleted, retyped, added, non-ASCII text): the object after the parse is the
object the record decodes to (``repr``: types and key order too), and every dead letter equals the one built by
decoding the record again (the code before the shortcut)."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import BUILTIN_STREAMS, SEGMENT_STREAM
from journeyflow.stages import parse as parse_module
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.tools.generator import generate
from journeyflow.tools.generator.segment import convert_dir

HASHER = Hasher(b"dead-payload-key")
_VALUES = [None, True, 0, -1, 1.5, "", " ", "x", "ann@example.com", "+14155550134", "(415) 555-0134", "\u200bzw",
           "caf\u00e9", "2026-10-03T10:00:00Z", [], {}, [1, "a"], {"email": "b@c.de", "phone": "020 7946 0958"},
           1790812850038, "ORD-00000023", "x" * 300, 2**70, {"traits": {"email": 5}}, ["a@b.c", None]]


def _mutated(obj: object, rng: random.Random) -> object:
    """``obj`` (a decoded record) with one to three random changes, nested objects included."""
    if not isinstance(obj, dict) or not obj:
        return obj
    obj = dict(obj)
    for _ in range(rng.randint(1, 3)):
        op, key = rng.random(), rng.choice(list(obj)) if obj else None
        if op < 0.25 and key is not None:
            del obj[key]
        elif op < 0.55 and key is not None:
            obj[key] = copy.deepcopy(rng.choice(_VALUES))
        elif op < 0.7:
            obj[rng.choice(["extra", "Email", "phone", "email", "properties", "traits", "context", "ts"])] = (
                copy.deepcopy(rng.choice(_VALUES)))
        elif key is not None and isinstance(obj[key], str):
            cut = rng.randint(0, len(obj[key]))
            obj[key] = obj[key][:cut] + rng.choice(["\u00e9", "\u200b", "\u0301", " ", "@", "\x00"]) + obj[key][cut:]
        elif key is not None and isinstance(obj[key], dict):
            obj[key] = _mutated(obj[key], rng)
    return obj


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    out = tmp_path_factory.mktemp("pop")
    generate(customers=40, days=4, seed=23, out=out, malformed_rate=0.25)
    convert_dir(out, 0.4, 23)  # (track.jsonl: Segment-Spec messages)
    rng = random.Random(5)
    recs = []
    for stream in (*BUILTIN_STREAMS, SEGMENT_STREAM):
        path = Path(out) / f"{stream}.jsonl"
        for line in path.read_bytes().splitlines() if path.exists() else ():
            recs.append((stream, line))
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            for _ in range(3):
                recs.append((stream, json.dumps(_mutated(obj, rng), ensure_ascii=rng.random() < 0.5).encode()))
    return recs


def test_the_checks_never_change_the_loaded_object(records, monkeypatch):
    loaded: list[tuple[object, str]] = []
    real = parse_module.loads_json

    def spy(text):
        obj = real(text)
        loaded.append((obj, repr(copy.deepcopy(obj))))
        return obj

    monkeypatch.setattr(parse_module, "loads_json", spy)
    parser = Parser(HASHER)
    parser._fast_streams, parser._fast_direct = frozenset(), {}  # every record through the full checks
    dead = 0
    for stream, raw in records:
        for r in (raw, raw.decode("utf-8", "replace")):
            loaded.clear()
            out = parser.parse_full(stream, r, "f:1")[0]
            dead += out.__class__ is DeadLetter
            assert [repr(obj) for obj, _ in loaded] == [before for _, before in loaded], (stream, r)
    assert dead > 200 and len(records) > 2000


def test_a_dead_letter_is_the_one_decoding_the_record_again_gives(records):
    parser = Parser(HASHER)
    dead = 0
    for stream, raw in records:
        for r in (raw, raw.decode("utf-8", "replace"), b"\xef\xbb\xbf" + raw, b" " + raw):
            out = parser.parse_full(stream, r, "f:1")[0]
            if out.__class__ is DeadLetter:
                dead += 1
                again = parser._dead(stream, r, "f:1", out.reason, out.detail, out.event_time)  # (no object given)
                assert repr(out) == repr(again), (stream, r)
    assert dead > 200
