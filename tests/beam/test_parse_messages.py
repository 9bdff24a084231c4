"""ParseAndValidate on Pub/Sub records (``RawRecord.attributes`` set): the ``ts`` attribute's dead letters are counted
per reason, good Events carry their event time as element timestamp, and file records are untouched."""
from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import MIN_TIMESTAMP

from journeyflow.transforms.parse import DEAD, EVENTS, ParseAndValidate, RawRecord

TS = 1_790_000_000_000


def _cart(n: int) -> bytes:
    return json.dumps({"event_id": f"e{n}", "ts": TS + n, "anonymous_id": f"d{n}", "type": "add_to_cart"}).encode()


class _Stamp(beam.DoFn):
    def process(self, ev, ts=beam.DoFn.TimestampParam):
        yield (ev.uid, ts.micros // 1000)


def test_pubsub_records_are_checked_counted_and_timestamped():
    records = [
        RawRecord("web", _cart(1), "pubsub:1", TS, {"ts": str(TS + 1)}),
        RawRecord("web", _cart(2), "pubsub:2", TS, {"ts": "abc"}),
        RawRecord("web", _cart(3), "pubsub:3", TS, {"ts": ""}),
        RawRecord("web", _cart(4), "pubsub:4", TS, {}),
        RawRecord("web", _cart(5), "pubsub:5", TS, {"ts": "-5"}),
        RawRecord("web", _cart(6), "pubsub:6", TS, {"ts": str(TS)}),  # not the payload's TS + 6
        RawRecord("web", b"{", "pubsub:7", TS, {"ts": str(TS)}),
        RawRecord("web", _cart(8), "f.jsonl:8"),  # a file record: no attribute check, no timestamp
    ]
    p = beam.Pipeline(runner=FnApiRunner())
    parsed = p | beam.Create(records) | ParseAndValidate()
    stamps = parsed[EVENTS] | beam.ParDo(_Stamp())
    reasons = parsed[DEAD] | beam.Map(lambda d: (d.source, str(d.reason), d.attributes))
    assert_that(stamps, equal_to([("web/e1", TS + 1), ("web/e8", MIN_TIMESTAMP.micros // 1000)]), label="stamps")
    assert_that(reasons, equal_to([
        ("pubsub:2", "bad_ts_attribute", {"ts": "abc"}),
        ("pubsub:3", "bad_ts_attribute", {"ts": ""}),
        ("pubsub:4", "missing_ts_attribute", {}),
        ("pubsub:5", "ts_attribute_out_of_range", {"ts": "-5"}),
        ("pubsub:6", "ts_mismatch", {"ts": str(TS)}),
        ("pubsub:7", "invalid_json", {"ts": str(TS)}),
    ]), label="reasons")
    result = p.run()
    result.wait_until_finish()
    counters = {r.key.metric.name: r.committed
                for r in result.metrics().query(MetricsFilter().with_namespace("journeyflow"))["counters"]}
    assert counters["records_parsed"] == 2
    assert counters["records_dead_lettered"] == 6
    assert {k: v for k, v in counters.items() if k.startswith("dead_letters_") and v} == {
        "dead_letters_bad_ts_attribute": 2, "dead_letters_missing_ts_attribute": 1,
        "dead_letters_ts_attribute_out_of_range": 1, "dead_letters_ts_mismatch": 1,
        "dead_letters_invalid_json": 1}
