"""The ``ts`` attribute of an input message: strict epoch ms, in range, equal to the payload's time
(journeyflow.stages.message_attributes) — each bad form a dead letter with its own reason and the message's attributes."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason as R
from journeyflow.stages.message_attributes import MAX_ATTRIBUTE_CHARS, parse_message
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import DEFAULT_MAX_TS, DEFAULT_MIN_TS, ParseConfig, Parser, mask_pii

TS = 1_790_000_000_000  # 2026-09-21
PUBLISHED = TS + 2_000
YEAR_MS = 365 * 86_400_000


def _parser(**config) -> Parser:
    return Parser(Hasher(b"test-key"), ParseConfig(**config))


def _cart(ts: int = TS, **extra) -> bytes:
    return json.dumps({"event_id": "e1", "ts": ts, "anonymous_id": "dev-1", "type": "add_to_cart",
                       "product_id": "SKU-1", **extra}).encode()


@pytest.mark.parametrize("attrs,reason", [
    ({}, R.MISSING_TS_ATTRIBUTE),
    ({"stream": "web"}, R.MISSING_TS_ATTRIBUTE),
    ({"ts": "abc"}, R.BAD_TS_ATTRIBUTE),
    ({"ts": ""}, R.BAD_TS_ATTRIBUTE),
    ({"ts": "1e12"}, R.BAD_TS_ATTRIBUTE),
    ({"ts": f" {TS}"}, R.BAD_TS_ATTRIBUTE),
    ({"ts": f"{TS}.0"}, R.BAD_TS_ATTRIBUTE),
    ({"ts": f"+{TS}"}, R.BAD_TS_ATTRIBUTE),
    ({"ts": "2026-09-21T12:26:40Z"}, R.BAD_TS_ATTRIBUTE),  # RFC 3339: Beam accepts it, the contract is epoch ms
    ({"ts": "１２３"}, R.BAD_TS_ATTRIBUTE),  # non-ASCII digits (str.isdigit would accept them)
    ({"ts": "9" * 25}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
    ({"ts": "9" * 1000}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
    ({"ts": "-5"}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
    ({"ts": str(DEFAULT_MIN_TS - 1)}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
    ({"ts": str(DEFAULT_MAX_TS + 1)}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
    ({"ts": str(TS + 50 * YEAR_MS)}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
    ({"ts": str(TS + 1)}, R.TS_MISMATCH),
    ({"ts": str(TS - 60_000)}, R.TS_MISMATCH),
])
def test_each_bad_ts_attribute_is_a_dead_letter_with_its_reason(attrs, reason):
    # the streaming default: --max_event_time now+1d (after the publish time)
    out, warnings = parse_message(_parser(max_ahead_ms=86_400_000), "web", _cart(), "pubsub:1", attrs, PUBLISHED)
    assert not isinstance(out, Event)
    assert out.reason == reason
    assert out.event_time == TS  # the payload's time, which is valid
    # the attributes as sent (masked: "+1790000000000" looks like a phone number and becomes "<phone>")
    assert json.loads(out.to_dict()["attributes"]) == {k: mask_pii(v[:MAX_ATTRIBUTE_CHARS]) for k, v in attrs.items()}
    assert json.loads(out.payload)["anonymous_id"] == "dev-1"  # the raw message is kept
    assert warnings == ()


def test_a_good_attribute_keeps_the_event_and_its_field_warnings():
    out, warnings = parse_message(_parser(), "web", _cart(csat="x", product_id=[7]), "pubsub:1", {"ts": str(TS)},
                                  PUBLISHED)
    assert isinstance(out, Event) and out.ts == TS
    assert [w.field for w in warnings] == ["product_id"]


def test_an_iso_payload_time_agrees_with_its_epoch_ms_attribute():
    payload = json.dumps({"event_id": "e1", "ts": "2026-09-21T16:13:20.123+02:00", "anonymous_id": "d",
                          "type": "page_view"}).encode()
    out, _ = parse_message(_parser(), "web", payload, "pubsub:1", {"ts": str(TS + 123)}, PUBLISHED)
    assert isinstance(out, Event) and out.ts == TS + 123


def test_the_attribute_bound_after_publish_time_is_the_parsers():
    parser = _parser(max_ahead_ms=86_400_000)
    ok, _ = parse_message(parser, "web", _cart(PUBLISHED + 86_400_000), "p", {"ts": str(PUBLISHED + 86_400_000)},
                          PUBLISHED)
    assert isinstance(ok, Event)
    # attribute one ms beyond the bound while the payload is in range: the attribute is the problem
    late, _ = parse_message(parser, "web", _cart(), "p", {"ts": str(PUBLISHED + 86_400_001)}, PUBLISHED)
    assert late.reason == R.TS_ATTRIBUTE_OUT_OF_RANGE


def test_a_bad_payload_keeps_its_own_reason_and_the_attributes():
    out, _ = parse_message(_parser(), "web", b"{not json", "pubsub:1", {"ts": "abc", "k": "v"}, PUBLISHED)
    assert out.reason == R.INVALID_JSON
    assert json.loads(out.to_dict()["attributes"]) == {"k": "v", "ts": "abc"}
    too_big, _ = parse_message(_parser(max_bytes=100), "web", _cart(pad="x" * 200), "pubsub:2", {"ts": str(TS)})
    assert too_big.reason == R.PAYLOAD_TOO_LARGE


def test_attributes_in_a_dead_letter_are_bounded_and_masked():
    attrs = {"ts": "abc", "who": "ann.lee@example.com", "long": "y" * 5000, **{f"a{i:03d}": "v" for i in range(150)}}
    out, _ = parse_message(_parser(), "web", _cart(), "pubsub:1", attrs, PUBLISHED)
    kept = json.loads(out.to_dict()["attributes"])
    assert len(kept) == 100
    assert "ann.lee@example.com" not in out.to_dict()["attributes"]
    assert all(len(v) <= MAX_ATTRIBUTE_CHARS for v in kept.values())
    assert "ann.lee@example.com" not in out.detail


def test_file_records_have_no_attributes_column_value():
    out = _parser().parse("web", b"{not json", "f:1")
    assert "attributes" not in out.to_dict() and out.attributes is None


def _segment_track(ts: int, message_id: str = "m-1") -> bytes:
    return json.dumps({"type": "track", "messageId": message_id, "anonymousId": "dev-1", "event": "Clicked",
                       "timestamp": ts}).encode()


def test_an_item_of_a_batch_envelope_may_be_later_than_its_messages_attribute():
    """A Segment batch on Pub/Sub has one ``ts`` attribute (the batch's earliest time) for all of its messages."""
    parser = _parser()
    later = parse_message(parser, "track", _segment_track(TS + 5_000), "pubsub:7#2", {"ts": str(TS)}, PUBLISHED)
    assert isinstance(later.result, Event) and later.result.ts == TS + 5_000
    earlier = parse_message(parser, "track", _segment_track(TS - 1), "pubsub:7#1", {"ts": str(TS)}, PUBLISHED)
    assert earlier.result.reason == R.TS_MISMATCH
    # a message that is not part of a batch keeps the exact rule
    single = parse_message(parser, "track", _segment_track(TS + 5_000), "pubsub:8", {"ts": str(TS)}, PUBLISHED)
    assert single.result.reason == R.TS_MISMATCH


@pytest.mark.parametrize("payload_ts,attr,unit", [
    (TS, str(TS // 1000), "seconds"), (TS + 456, str(TS // 1000), "seconds"),  # (whole seconds of a ms time)
    (TS, str(TS * 1000), "microseconds"), (TS, str(TS * 1_000_000), "nanoseconds")])
def test_an_attribute_in_another_unit_is_out_of_range_and_says_which_unit(payload_ts, attr, unit):
    """A publisher that writes ``ts`` in epoch seconds (or µs, ns): Beam's source would stamp the message decades
    off, so it stays a dead letter, and the detail names the likely cause instead of only the range."""
    out, _ = parse_message(_parser(), "web", _cart(payload_ts), "pubsub:1", {"ts": attr}, PUBLISHED)
    assert out.reason == R.TS_ATTRIBUTE_OUT_OF_RANGE
    assert f"epoch {unit}: the attribute must be epoch milliseconds" in out.detail


def test_an_unrelated_out_of_range_attribute_names_no_unit():
    out, _ = parse_message(_parser(), "web", _cart(), "pubsub:1", {"ts": "12345"}, PUBLISHED)
    assert out.reason == R.TS_ATTRIBUTE_OUT_OF_RANGE and "epoch seconds" not in out.detail
