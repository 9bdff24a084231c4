"""The parser's fast path (``journeyflow.stages.parse_fast``) agrees with the full parser, and so does each shortcut
it takes: the typed decoders, the event-time reader, the PII pre-check, the per-domain email check.

Property tests (hypothesis): for generated records of every built-in stream -- mostly valid, with one or more fields
perturbed (wrong types, nulls, missing, unknown enum symbols, out-of-range and malformed times, identifiers holding
PII, non-finite and huge numbers, duplicate keys, nested or truncated JSON) -- ``Parser.parse_full`` with the fast
path gives exactly (``repr``: types and key order too) the result of the full parser alone: the same Event and field
warnings, or the same dead letter.
"""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyflow.model.events import BUILTIN_STREAMS, EVENT_TYPES, Event
from journeyflow.stages import fields as jf_fields
from journeyflow.stages.identity.keys import Hasher, InvalidIdentifier, _normalize_email_full, normalize_email
from journeyflow.stages.parse import ParseConfig, Parser, avro_schema
from journeyflow.stages.parse_fast import cannot_hold_pii, fast_iso_ms
from journeyflow.stages.pii import contains_pii, mask_pii, pseudonymize
from journeyflow.stages.timeparse import parse_ts

EXAMPLES = max(200, int(os.environ.get("JOURNEYFLOW_FUZZ_EXAMPLES", "2000")) // 4)
HASHER = Hasher(b"fast-path-test-key")
CONFIGS = (ParseConfig(), ParseConfig(default_region="GB", max_ahead_ms=3_600_000, merge_plus_addresses=True))


def _pair(config: ParseConfig) -> tuple[Parser, Parser]:
    fast, full = Parser(HASHER, config), Parser(HASHER, config)
    full._fast_streams, full._fast_direct = frozenset(), {}  # the full parser alone
    return fast, full


PAIRS = [_pair(c) for c in CONFIGS]

EMAILS = ["ann.lee@example.com", "Ann.Lee@Example.COM", "ann+news@x.com", " bob@example.org ", "bob@@x.com",
          "a..b@x.com", "a@x", "a@b.test", "x@localhost", "ann@münchen.de", "ann@xn--mnchen-3ya.de", "ＡＮＮ@x.com",
          "ann@-x.com", "ann@x-.com", "ann@x.123", "a" * 65 + "@x.com", "a@" + "b" * 64 + ".com", "\"q\"@x.com",
          "ann@[1.2.3.4]", "", "mailto:ann@x.com", "o'brien@x.ie", "a.b-c_d+e@sub.dom-ain.co.uk"]
PHONES = ["+1 (212) 555-0101", "+34-915-637-325", "(415) 555-0134", "020 7946 0958", "+44 20 7946 0958", "12",
          "tel:+14155550134", "", "555", "+1 415 555 0134 ext. 12", "4155550134"]
IDS = ["C57274206", "e0fd09f8-9fa7-4539-9d42-5057f57cef9c", "ann@x.com", "ann%40x.com", "+14155550134", "",
       "  ", " C1 ", "4155550134", "id-(415) 555-0134", "ORD-00000314", "web-000001", "x&#64;y.com"]


def _mostly(good: st.SearchStrategy, other: st.SearchStrategy, n: int = 4) -> st.SearchStrategy:
    """``good`` n times out of n + 1 (``st.one_of`` would favour the simpler branch)."""
    return st.sampled_from(range(n + 1)).flatmap(lambda i: other if i == n else good)


def _ts() -> st.SearchStrategy:
    common = st.builds(
        lambda y, mo, d, h, mi, s, frac, off: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{off}",
        st.integers(2001, 2099), st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59),
        st.integers(0, 60), st.sampled_from(["", ".5", ".123", ".1234567"]),
        st.sampled_from(["Z", "+00:00", "-07:00", "+05:30", "-23:59", "+14:00"]))
    digits = st.text("0123456789", min_size=1, max_size=10)
    iso = st.builds(
        lambda y, mo, d, sep, h, mi, s, frac, off: f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{off}",
        st.integers(1990, 2110), st.integers(0, 13), st.integers(0, 32), st.sampled_from("TTTt "),
        st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
        st.one_of(st.just(""), digits.map(lambda x: "." + x), digits.map(lambda x: "," + x)),
        st.sampled_from(["Z", "Z", "+00:00", "-07:00", "+05:30", "+24:00", "-23:59", "+1200", "", "z", "+02"]))
    return _mostly(st.one_of(common, st.integers(946_684_800_000, 4_102_444_800_000)), st.one_of(
        iso, st.integers(-(1 << 64), 1 << 64), st.integers(0, 1 << 45).map(str),
        st.sampled_from([None, True, 1.5e12, " 2026-10-01T00:00:00Z", "2026-10-01", "2026-W40-4T10:00Z"])), 2)


def _junk() -> st.SearchStrategy:
    return st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70), st.floats(allow_nan=True),
                     st.text(max_size=12), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _value(stream: str, name: str, ftype) -> st.SearchStrategy:
    """A mostly-valid value of one field, sometimes anything."""
    if name == "ts":
        good = _ts()
    elif name == "email":
        good = _mostly(st.sampled_from(EMAILS[:4]), st.sampled_from(EMAILS), 1)
    elif name == "phone":
        good = _mostly(st.sampled_from(PHONES[:2]), st.one_of(st.sampled_from(PHONES), st.integers(0, 1 << 40)), 1)
    elif name in ("crm_id", "anonymous_id", "user_id", "event_id", "order_id", "ticket_id", "decision_id",
                  "owner_id", "product_id"):
        good = _mostly(st.sampled_from(IDS[:2] + IDS[-3:]), st.one_of(st.sampled_from(IDS), st.text(max_size=20)), 2)
    elif name == "timezone":
        good = st.sampled_from(["America/New_York", "Europe/Madrid", " UTC", "Eastern Standard Time", "Mars/Base"])
    elif name == "amount":
        good = st.one_of(st.integers(-5, 1 << 64), st.floats(allow_nan=True, allow_infinity=True))
    elif name == "csat":
        good = st.integers(-1, 7)
    elif name == "product_ids":
        good = st.lists(st.one_of(st.sampled_from(["SKU-1", "ann@x.com"]), st.integers()), max_size=3)
    elif name == "properties":
        scalar = st.one_of(st.none(), st.booleans(), st.floats(), st.integers(-(1 << 64), 1 << 64),
                           st.text(max_size=8), st.lists(st.integers(), max_size=1))
        good = st.dictionaries(st.text(max_size=6), scalar, max_size=4)
    elif isinstance(ftype, dict) and ftype.get("type") == "enum" or isinstance(ftype, list) and any(
            isinstance(t, dict) and t.get("type") == "enum" for t in ftype):
        enum = ftype if isinstance(ftype, dict) else next(t for t in ftype if isinstance(t, dict))
        symbols = list(EVENT_TYPES[stream]) if name == "type" else list(enum["symbols"])
        good = st.sampled_from(symbols * 4 + ["other", ""])
    else:
        good = st.text(max_size=10)
    if isinstance(ftype, list) and "null" in ftype:
        good = _mostly(good, st.none(), 2)
    return good


@st.composite
def records(draw) -> tuple[str, bytes | str, int | None]:
    """(stream, raw record, received_at)."""
    stream = draw(st.sampled_from(BUILTIN_STREAMS))
    rec = {}
    for f in avro_schema(stream)["fields"]:
        if draw(_mostly(st.just(False), st.just(True), 60)):
            continue  # missing
        junk = draw(_mostly(st.just(False), st.just(True), 25))
        rec[f["name"]] = draw(_junk() if junk else _value(stream, f["name"], f["type"]))
    if draw(_mostly(st.just(False), st.just(True), 8)):
        rec["unknown"] = draw(st.one_of(_junk(), st.recursive(st.integers(), lambda c: st.lists(c, max_size=1))))
    text = json.dumps(rec, ensure_ascii=draw(st.booleans()))
    cut = draw(_mostly(st.just(-1), st.integers(0, 3), 6))
    if cut == 0:
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == 1 and len(text) > 2:  # a duplicate key: the last one counts
        name = draw(st.sampled_from(list(rec) or ["x"]))
        text = text[:-1] + f', "{name}": ' + json.dumps(draw(_value(stream, name, "string")))[:40] + "}"
    elif cut == 2:
        text = "[" * draw(st.integers(20, 40)) + text + "]" * 20
    elif cut == 3:
        text = "\ufeff" + text
    raw = text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text
    received = draw(st.one_of(st.none(), st.integers(1_700_000_000_000, 1_900_000_000_000)))
    return stream, raw, received


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.sampled_from(range(len(PAIRS))))
def test_fast_path_gives_the_full_parsers_result(case, which):
    stream, raw, received = case
    fast, full = PAIRS[which]
    got = fast.parse_full(stream, raw, "f.jsonl:1", received)
    want = full.parse_full(stream, raw, "f.jsonl:1", received)
    assert repr(got) == repr(want)
    ev = fast._fast.parse(stream, raw, received)
    if ev is not None:  # the fast path alone: only for a record kept without a warning, and the same Event
        assert repr(ev) == repr(want.result) and not want.warnings


def test_fast_path_takes_ordinary_records():
    """The fast path is taken for well-formed records (else it would be untested), with the full parser's Event."""
    fast, full = PAIRS[0]
    rows = {
        "web": {"event_id": "web-1", "ts": "2026-10-01T00:24:42+00:00", "anonymous_id": IDS[1], "user_id": "C1",
                "email": "Ann@x.com", "type": "page_view", "product_id": None, "properties": {"a": 1, "b": 2.5}},
        "orders": {"event_id": "o-1", "ts": 1790812901571, "crm_id": "C1", "email": None, "order_id": "ORD-00000314",
                   "type": "order_placed", "product_ids": ["SKU-1"], "amount": 92, "currency": "EUR"},
        "support": {"event_id": "s-1", "ts": "2026-10-01T13:58:33.5+05:30", "phone": "+1 (212) 555-0101",
                    "ticket_id": "T1", "type": "ticket_opened", "severity": "high", "csat": 4},
        "crm": {"event_id": "c-1", "ts": "2026-10-01T00:00:15Z", "crm_id": "C1", "timezone": "Europe/Madrid",
                "type": "contact_created"},
        "engagement": {"event_id": "e-1", "ts": "2026-10-01T03:06:33.115Z", "crm_id": "C1", "channel": "push",
                       "type": "bounced", "bounce_type": "hard"},
        "consent": {"event_id": "k-1", "ts": "1790812901571", "email": "ann@x.com", "channel": "email",
                    "status": "revoked"},
    }
    assert set(rows) == set(BUILTIN_STREAMS)
    for stream, rec in rows.items():
        raw = json.dumps(rec).encode()
        ev = fast._fast.parse(stream, raw, None)
        assert isinstance(ev, Event), stream
        assert repr(ev) == repr(full.parse_full(stream, raw).result)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(_ts(), st.text("0123456789-:TZ+.", max_size=30)))
def test_fast_event_time_reader_agrees_with_parse_ts(value):
    if not isinstance(value, str):
        return
    got = fast_iso_ms(value)
    if got is not None:
        assert got == parse_ts(value)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(st.text(max_size=24), st.text("0123456789-+@%&()[]{} .abcxAT\\u", max_size=24),
                 st.text("0123456789_aC", max_size=24), st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
                 st.builds(lambda a, u: a + str(u), st.sampled_from(["", "x", "1", " "]), st.uuids()),
                 st.builds(lambda a, z, d: f"{a}-{z}{d}", st.text("ABCxyz_1", min_size=1, max_size=4),  # ORD-000314
                           st.sampled_from(["", "0", "00", "000", "0000"]),
                           st.one_of(st.text("0123456789", max_size=16),
                                     st.sampled_from(["4155550134", "14155550134", "4915112345678", "2079460958"]))),
                 st.sampled_from(IDS + EMAILS + PHONES)))
def test_pii_precheck_never_skips_what_the_patterns_change(text):
    if cannot_hold_pii(text):
        assert mask_pii(text) == text
        assert not contains_pii(text)
    if cannot_hold_pii(text, keep_uuids=True):
        assert not contains_pii(text, keep_uuids=True)
        assert pseudonymize(text, HASHER.digest) == text


def _outcome(fn, raw: str, merge: bool) -> str:
    try:
        return "ok " + fn(raw, merge)
    except InvalidIdentifier as e:
        return "invalid " + e.reason


_LOCAL = st.text("abcXYZ019._+-!#'~", min_size=0, max_size=70)
_DOMAIN = st.lists(st.one_of(st.text("abcXYZ019-", min_size=0, max_size=66), st.sampled_from(
    ["com", "test", "local", "localhost", "invalid", "onion", "arpa", "123", "xn--mnchen-3ya", "münchen", "co"])),
    min_size=1, max_size=4).map(".".join)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(st.builds(lambda a, b: f"{a}@{b}", _LOCAL, _DOMAIN), st.sampled_from(EMAILS)), st.booleans())
def test_email_per_domain_check_agrees_with_email_validator(raw, merge):
    assert _outcome(normalize_email, raw, merge) == _outcome(_normalize_email_full, raw, merge)


def test_typed_decoders_cover_every_optional_field():
    """Every optional field the full parser checks is a field of the stream's schema (so of its decoder)."""
    for stream in BUILTIN_STREAMS:
        names = {f["name"] for f in avro_schema(stream)["fields"]}
        assert set(jf_fields.OPTIONAL_FIELDS[stream]) <= names
        assert PAIRS[0][0]._fast.streams() == frozenset(BUILTIN_STREAMS)


def test_parser_still_pickles_with_its_fast_path():
    """A Parser crosses pickling (Beam DoFns) as before; the copy rebuilds its fast path and parses the same."""
    import pickle

    fast, full = PAIRS[0]
    copy = pickle.loads(pickle.dumps(fast))
    raw = json.dumps({"event_id": "c-1", "ts": "2026-10-01T00:00:15Z", "crm_id": "C1", "email": "Ann@x.com",
                      "type": "contact_created"}).encode()
    assert copy._fast.parse("crm", raw, None) is not None
    assert repr(copy.parse_full("crm", raw)) == repr(full.parse_full("crm", raw))


def test_records_with_unknown_fields_keep_the_fast_path_unless_nested_too_deep():
    """A record with a field its schema does not name is still fast-pathed (decoded again, the field skipped),
    with the full parser's Event; one whose unknown field nests deeper than ``MAX_JSON_DEPTH`` is left to the
    full parser, which dead-letters it as invalid JSON -- as without the fast path."""
    from journeyflow.model.dead_letters import DeadLetter
    parser = Parser(HASHER)
    rec = {"event_id": "web-1", "ts": "2026-10-01T00:24:42+00:00", "anonymous_id": "a-1", "type": "page_view",
           "properties": {"path": "/x"}}
    extra = json.dumps({**rec, "extra": {"a": [1, 2]}}).encode()
    assert parser._fast.parse("web", extra, None) is not None
    assert parser._fast.parse("web", extra, None) == parser._parse("web", extra)[0]
    deep = json.dumps(rec)[:-1].encode() + b', "extra": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert parser._fast.parse("web", deep, None) is None
    got = parser.parse("web", deep)
    assert isinstance(got, DeadLetter) and got.reason == "invalid_json"
