"""ParseAndValidate: every dead-letter reason, one by one, and the Beam transform with TestPipeline."""
from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.stages.identity.keys import Hasher
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.parse import ParseConfig, Parser, parse_ts
from journeyflow.transforms import parse as tparse
from journeyflow.transforms.parse import ParseAndValidate, RawRecord

GOOD_WEB = {"event_id": "w1", "ts": "2026-10-01T10:00:00+02:00", "anonymous_id": "dev-1", "type": "login",
            "user_id": "C001", "email": "  Ann.Lee@Example.COM "}
GOOD_ORDER = {"event_id": "o1", "ts": 1790848800000, "crm_id": "C001", "email": "ann.lee@example.com",
              "order_id": "ORD-1", "type": "order_placed", "product_ids": ["SKU-1"], "amount": 19.9, "currency": "EUR"}


@pytest.fixture
def parser() -> Parser:
    return Parser(Hasher(b"test-key"), ParseConfig(max_bytes=4096))


def dumps(d) -> bytes:
    return json.dumps(d).encode()


def test_good_records_become_events_with_hashed_ids(parser):
    ev = parser.parse("web", dumps(GOOD_WEB), "web.jsonl:1")
    assert isinstance(ev, Event)
    assert ev.uid == "web/w1" and ev.type == "login"
    assert ev.ts == parse_ts("2026-10-01T08:00:00+00:00")
    kinds = sorted(k.split(":")[0] for k in ev.ids)
    assert kinds == ["anon", "crm", "email"]
    assert not any("ann" in k.lower() for k in ev.ids), "raw email must not appear in identifier keys"
    email_key = next(k for k in ev.ids if k.startswith("email:"))
    assert ev.contact == {"email": "ann.lee@example.com", "email_key": email_key}  # the address and its key
    order = parser.parse("orders", dumps(GOOD_ORDER), "orders.jsonl:1")
    assert isinstance(order, Event)
    # same person by email in two streams -> same hashed key
    assert set(order.ids) & set(ev.ids) == {k for k in ev.ids if k.startswith(("crm:", "email:"))}


def test_consent_type_is_derived_from_status(parser):
    ev = parser.parse("consent", dumps({"event_id": "c1", "ts": 1790848800000, "crm_id": "C9",
                                        "channel": "sms", "status": "revoked"}))
    assert isinstance(ev, Event) and ev.type == "consent_revoked" and ev.attrs["channel"] == "sms"


BAD = [
    ("web", b"x" * 5000, "payload_too_large"),
    ("web", b"\xff\xfe{}", "invalid_utf8"),
    ("web", b'{"event_id": "w1", "ts": ', "invalid_json"),
    ("web", b"[" * 2000 + b"]" * 2000, "invalid_json"),
    ("web", b'["an", "array"]', "not_an_object"),
    ("billing", dumps(GOOD_ORDER), "unknown_stream"),
    ("web", dumps({**GOOD_WEB, "type": "teleport"}), "unknown_type"),
    ("consent", dumps({"event_id": "c", "ts": 1, "crm_id": "C1", "channel": "sms", "status": "maybe"}),
     "unknown_type"),
    ("orders", dumps({**GOOD_ORDER, "order_id": [4711]}), "schema_violation"),
    ("orders", dumps({k: v for k, v in GOOD_ORDER.items() if k != "order_id"}), "schema_violation"),
    ("web", dumps({**GOOD_WEB, "ts": "yesterday"}), "bad_timestamp"),
    ("web", dumps({**GOOD_WEB, "ts": "2026-10-01T10:00:00"}), "bad_timestamp"),
    ("web", dumps({**GOOD_WEB, "ts": 86_400_000}), "timestamp_out_of_range"),
    ("web", dumps({**GOOD_WEB, "ts": "2200-01-01T00:00:00+00:00"}), "timestamp_out_of_range"),
    ("web", dumps({**GOOD_WEB, "anonymous_id": "  "}), "invalid_identifier"),
    ("orders", dumps({**GOOD_ORDER, "crm_id": None, "email": "not-an-email"}), "invalid_identifier"),
    ("crm", dumps({"event_id": "r", "ts": 1790848800000, "crm_id": " ", "email": "a@b.co",
                   "type": "contact_updated"}), "invalid_identifier"),
    ("support", dumps({"event_id": "s", "ts": 1790848800000, "phone": "12", "ticket_id": "T",
                       "type": "ticket_opened"}), "invalid_identifier"),
    ("orders", dumps({**GOOD_ORDER, "crm_id": None, "email": None}), "missing_identifier"),
    ("consent", dumps({"event_id": "c", "ts": 1790848800000, "crm_id": "C1", "email": "a@b.co",
                       "channel": "sms", "status": "granted"}), "multiple_identifiers"),
    ("web", dumps({**GOOD_WEB, "ts": "2026-02-30T10:00:00+00:00"}), "bad_timestamp"),
    ("consent", dumps({"event_id": "c", "ts": 1790848800000, "phone": "020 7946 0958", "channel": "sms",
                       "status": "revoked"}), "invalid_identifier"),
]


@pytest.mark.parametrize("stream,raw,reason", BAD, ids=[f"{i}-{b[2]}" for i, b in enumerate(BAD)])
def test_each_dead_letter_reason(parser, stream, raw, reason):
    out = parser.parse(stream, raw, f"{stream}.jsonl:7")
    assert isinstance(out, DeadLetter), out
    assert out.reason == reason, out.detail
    assert out.source == f"{stream}.jsonl:7"
    assert out.detail
    assert len(out.payload) <= 64 * 1024


def test_nesting_beyond_the_json_parser_limit_is_invalid_json():
    for depth in (33, 1000, 100_000):
        deep = b'{"a":' * depth + b"1" + b"}" * depth
        out = Parser(Hasher(b"k")).parse("web", deep)
        assert isinstance(out, DeadLetter) and out.reason == "invalid_json" and "deeper" in out.detail
    brackets_in_a_string = dumps({**GOOD_WEB, "properties": {"k": "[" * 100}})
    assert isinstance(Parser(Hasher(b"k")).parse("web", brackets_in_a_string), Event)
    ok = b'{"a":' * 31 + b"1" + b"}" * 31
    assert Parser(Hasher(b"k")).parse("web", ok).reason == "unknown_type"


def test_string_where_an_array_is_expected_drops_the_optional_field(parser):
    # product_ids is optional (journeyflow/stages/fields.py): the order is kept without it, and the drop is reported
    res = parser.parse_full("orders", dumps({**GOOD_ORDER, "product_ids": "SKU-1,SKU-2"}), "orders.jsonl:3")
    assert isinstance(res.result, Event) and "product_ids" in res.result.attrs
    assert res.result.attrs["product_ids"] == []
    assert [(w.field, w.reason, w.action) for w in res.warnings] == [("product_ids", "wrong_type", "dropped")]
    assert res.warnings[0].source == "orders.jsonl:3" and res.warnings[0].event_id == "o1"


def test_dead_letter_masks_pii_and_names_the_field(parser):
    out = parser.parse("orders", dumps({**GOOD_ORDER, "order_id": {"id": 4711}, "email": "secret.person@example.com"}))
    assert isinstance(out, DeadLetter)
    assert "order_id" in out.detail
    assert "secret.person" not in out.payload and "<email>" in out.payload
    bad_phone = parser.parse("support", dumps({"event_id": "s", "ts": 1790848800000, "phone": "+1 415 555 0100 99",
                                               "ticket_id": "T", "type": "ticket_opened"}))
    assert isinstance(bad_phone, DeadLetter) and "415" not in bad_phone.payload + bad_phone.detail


def test_parse_and_validate_transform_splits_events_and_dead_letters():
    records = [
        RawRecord("web", dumps(GOOD_WEB), "web.jsonl:1"),
        RawRecord("orders", dumps(GOOD_ORDER), "orders.jsonl:1"),
        RawRecord("orders", b"{oops", "orders.jsonl:2"),
        RawRecord("web", dumps({**GOOD_WEB, "type": "teleport"}), "web.jsonl:2"),
        RawRecord("orders", dict(GOOD_ORDER, event_id="o2"), "orders.avro#1"),  # Avro-decoded dict
    ]
    with TestPipeline() as p:
        out = p | beam.Create(records) | ParseAndValidate()
        assert_that(out[tparse.EVENTS] | "uids" >> beam.Map(lambda e: e.uid),
                    equal_to(["web/w1", "orders/o1", "orders/o2"]), label="events")
        assert_that(out[tparse.DEAD] | "reasons" >> beam.Map(lambda d: (d.source, d.reason)),
                    equal_to([("orders.jsonl:2", "invalid_json"), ("web.jsonl:2", "unknown_type")]),
                    label="dead")
