"""One bad optional field never drops a record (issue 18): per optional field of every stream, the parser keeps the
record without the field and writes a field warning; required fields still dead-letter it.  The issue's examples
run through the replay: a Windows time zone, a UK number written nationally, a record dated 2099."""
from __future__ import annotations

import json
import math
import shutil
from datetime import timedelta as td
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.stages import fields
from journeyflow.tools.generator import expected_outcome, generate
from journeyflow.stages.identity.keys import Hasher
from journeyflow.model.events import BUILTIN_STREAMS as STREAMS  # Avro streams (track: test_segment_parse.py)
from journeyflow.model.events import Event
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.field_warnings import FieldWarning
from journeyflow.model.reasons import WARNING_REASONS
from journeyflow.stages.parse import ParseConfig, Parser, avro_schema, parse_ts
from journeyflow.pipelines.replay import run_replay
from journeyflow.transforms import parse as tparse
from journeyflow.transforms.parse import ParseAndValidate, RawRecord
from tests.scenarios import T0, Scenario, read_topic, replay_scenario

TS = 1790848800000  # 2026-10-01T10:00:00Z
BASE = {
    "web": {"event_id": "w1", "ts": TS, "anonymous_id": "dev-1", "user_id": "C001", "email": "ann@example.com",
            "type": "product_view", "product_id": "SKU-1", "properties": {"path": "/p/1", "n": 3}},
    "orders": {"event_id": "o1", "ts": TS, "crm_id": "C001", "email": "ann@example.com", "order_id": "ORD-1",
               "type": "order_placed", "product_ids": ["SKU-1", "SKU-2"], "amount": 19.9, "currency": "EUR"},
    "support": {"event_id": "s1", "ts": TS, "crm_id": "C001", "email": "ann@example.com",
                "phone": "+1 415 555 0134", "ticket_id": "T-1", "type": "ticket_opened", "severity": "high",
                "csat": 4},
    "crm": {"event_id": "c1", "ts": TS, "crm_id": "C001", "email": "ann@example.com", "phone": "(415) 555-0134",
            "type": "contact_created", "lifecycle_stage": "customer", "timezone": "Europe/Berlin",
            "owner_id": "owner-7"},
    "engagement": {"event_id": "e1", "ts": TS, "crm_id": "C001", "email": "ann@example.com",
                   "phone": "+1 415 555 0134", "channel": "email", "type": "opened", "decision_id": "d_1"},
    "consent": {"event_id": "n1", "ts": TS, "crm_id": "C001", "channel": "sms", "status": "granted"},
}

#: (stream, field, bad value, warning reason).  At least one case per optional field of every stream.
CASES = [
    ("web", "user_id", "   ", "invalid_identifier"),
    ("web", "user_id", {"id": 42}, "wrong_type"),
    ("web", "email", "not-an-email", "invalid_identifier"),
    ("web", "email", ["ann@example.com"], "wrong_type"),
    ("web", "product_id", [12345], "wrong_type"),
    ("web", "properties", "utm_source=newsletter", "wrong_type"),
    ("web", "properties", {"path": "/p", "deep": {"a": [1]}}, "wrong_type"),
    ("orders", "crm_id", " ", "invalid_identifier"),
    ("orders", "crm_id", [7], "wrong_type"),
    ("orders", "email", "jane.doe@", "invalid_identifier"),
    ("orders", "product_ids", "SKU-1,SKU-2", "wrong_type"),
    ("orders", "product_ids", ["SKU-1", 7.5, None], "wrong_type"),
    ("orders", "amount", "12,50", "wrong_type"),
    ("orders", "amount", -5, "out_of_range"),
    ("orders", "amount", float("nan"), "out_of_range"),
    ("orders", "currency", 978, "wrong_type"),
    ("orders", "properties", "coupon=SPRING", "wrong_type"),
    ("orders", "properties", {"coupon": "SPRING", "cart": {"items": [1]}}, "wrong_type"),
    ("support", "crm_id", True, "wrong_type"),
    ("support", "email", "n/a", "invalid_identifier"),
    ("support", "phone", "020 7946 0958", "invalid_identifier"),  # a UK number written nationally, region US
    ("support", "phone", 4155550134, "wrong_type"),
    ("support", "severity", "someday", "unknown_value"),
    ("support", "severity", 3, "wrong_type"),
    ("support", "csat", 9, "out_of_range"),
    ("support", "csat", "five", "wrong_type"),
    ("crm", "email", "john doe@example", "invalid_identifier"),
    ("crm", "phone", "12", "invalid_identifier"),
    ("crm", "lifecycle_stage", 3, "wrong_type"),
    ("crm", "timezone", "Mars/Olympus_Mons", "unknown_timezone"),
    ("crm", "timezone", "Europe/Parris", "unknown_timezone"),
    ("crm", "timezone", 5, "wrong_type"),
    ("crm", "timezone", "Eastern Standard Time", "windows_timezone"),
    ("crm", "owner_id", 7.5, "wrong_type"),
    ("engagement", "crm_id", " ", "invalid_identifier"),
    ("engagement", "email", "@example.com", "invalid_identifier"),
    ("engagement", "phone", "12", "invalid_identifier"),
    ("engagement", "anonymous_id", "undefined", "invalid_identifier"),  # qa13c: a placeholder id names no one
    ("engagement", "decision_id", 42, "wrong_type"),
    ("engagement", "bounce_type", "sometimes", "unknown_value"),
    ("engagement", "bounce_type", 1, "wrong_type"),
]
#: Where a kept field ends up in the Event: an attribute, or an identifier key of that kind.
ATTR = {"product_id", "product_ids", "amount", "currency", "severity", "csat", "lifecycle_stage", "timezone",
        "owner_id", "decision_id"}
ID_KIND = {"user_id": "crm", "crm_id": "crm", "email": "email", "phone": "phone", "anonymous_id": "anon"}


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(Hasher(b"test-key"))


def raw(stream: str, **changes) -> bytes:
    return json.dumps({**BASE[stream], **changes}, allow_nan=True).encode()


def test_base_records_are_clean(parser):
    for stream in STREAMS:
        res = parser.parse_full(stream, raw(stream), f"{stream}.jsonl:1")
        assert isinstance(res.result, Event) and res.warnings == (), (stream, res)


def test_every_field_is_required_or_optional_and_every_optional_field_is_tested():
    for stream in STREAMS:
        names = {f["name"] for f in avro_schema(stream)["fields"]}
        required, optional = set(fields.REQUIRED_FIELDS[stream]), set(fields.OPTIONAL_FIELDS[stream])
        assert not required & optional, stream
        rest = names - required - optional
        # consent's identifiers: exactly one is required (the consent's subject), checked by the parser
        assert rest == (set(fields.IDENTIFIER_FIELDS["consent"]) if stream == "consent" else set()), (stream, rest)
    tested = {(s, f) for s, f, _v, _r in CASES}
    assert tested == {(s, f) for s, fs in fields.OPTIONAL_FIELDS.items() if s in STREAMS for f in fs}
    assert {r for *_x, r in CASES} == set(WARNING_REASONS)


@pytest.mark.parametrize("stream,field,value,reason", CASES,
                         ids=[f"{s}.{f}-{r}-{i}" for i, (s, f, _v, r) in enumerate(CASES)])
def test_bad_optional_field_keeps_the_record_and_writes_a_warning(parser, stream, field, value, reason):
    good = parser.parse(stream, raw(stream))
    res = parser.parse_full(stream, raw(stream, **{field: value}), f"{stream}.jsonl:9")
    ev = res.result
    assert isinstance(ev, Event), ev
    assert (ev.uid, ev.type, ev.ts) == (good.uid, good.type, good.ts)
    (w,) = res.warnings
    assert isinstance(w, FieldWarning)
    assert (w.stream, w.event_id, w.field, w.reason) == (stream, BASE[stream]["event_id"], field, reason)
    assert w.source == f"{stream}.jsonl:9" and w.event_time == good.ts and w.detail
    replaced = reason == "windows_timezone"
    partly = field in ("product_ids", "properties") and isinstance(value, (list, dict))
    assert w.action == ("replaced" if replaced else "dropped")
    # the field is gone from the event (or replaced / cleaned); everything else is as in the good record
    if field in ID_KIND:
        kind = ID_KIND[field]
        assert set(ev.ids) == {k for k in good.ids if not k.startswith(kind + ":")}
        assert field not in ev.contact
        if field in ("email", "phone"):
            assert w.value is None  # PII: never stored
        else:
            assert w.value is not None
    elif field in ATTR:
        if replaced:
            assert ev.attrs[field] == "America/New_York"
        elif partly:
            assert ev.attrs[field] == ["SKU-1"]
        elif field == "product_ids":
            assert ev.attrs[field] == []
        else:
            assert field not in ev.attrs
        assert {k: v for k, v in ev.attrs.items() if k != field} == {k: v for k, v in good.attrs.items() if k != field}
        assert set(ev.ids) == set(good.ids)
    else:  # properties: not carried into the event; the record is kept with the same identifiers
        assert set(ev.ids) == set(good.ids)
    # never raw PII in a warning
    for text in (w.detail, w.value or ""):
        assert "ann@example.com" not in text and "7946" not in text and "555" not in text


def test_issue_example_windows_zone_keeps_the_contact_and_its_link(parser):
    res = parser.parse_full("crm", raw("crm", timezone="Eastern Standard Time"))
    ev = res.result
    assert isinstance(ev, Event) and ev.attrs["timezone"] == "America/New_York"
    assert {k.split(":")[0] for k in ev.ids} == {"crm", "email", "phone"}  # the crm<->email link survives
    assert ev.contact["email"] == "ann@example.com"
    assert [(w.reason, w.action, w.value) for w in res.warnings] == [
        ("windows_timezone", "replaced", '"Eastern Standard Time"')]
    for name, zone in [("W. Europe Standard Time", "Europe/Berlin"), ("Tokyo Standard Time", "Asia/Tokyo"),
                       ("AUS Eastern Standard Time", "Australia/Sydney"), ("GMT Standard Time", "Europe/London")]:
        assert fields.windows_zone_to_iana(name) == zone
    assert fields.windows_zone_to_iana("Mars Standard Time") is None


def test_issue_example_uk_national_number_with_region_us_keeps_the_ticket(parser):
    res = parser.parse_full("support", raw("support", email=None, phone="020 7946 0958"))
    ev = res.result
    assert isinstance(ev, Event) and ev.ids == ("crm:C001",) and ev.attrs["severity"] == "high"
    assert [(w.field, w.reason, w.value) for w in res.warnings] == [("phone", "invalid_identifier", None)]
    # with the right default region the same spelling is a valid number (and then it is one key with +44 ...)
    gb = Parser(Hasher(b"test-key"), ParseConfig(default_region="GB")).parse(
        "support", raw("support", email=None, phone="020 7946 0958"))
    intl = parser.parse("support", raw("support", email=None, phone="+44 20 7946 0958"))
    assert gb.ids == intl.ids and len(gb.ids) == 2


def test_two_bad_optional_fields_two_warnings_one_record(parser):
    res = parser.parse_full("support", raw("support", severity="someday", csat=0, email="x"))
    assert isinstance(res.result, Event)
    assert sorted((w.field, w.reason) for w in res.warnings) == [
        ("csat", "out_of_range"), ("email", "invalid_identifier"), ("severity", "unknown_value")]


@pytest.mark.parametrize("stream,changes,reason", [
    ("support", {"ticket_id": [4711], "csat": 9}, "schema_violation"),  # a required field decides, no warning
    ("crm", {"crm_id": "  ", "timezone": "Eastern Standard Time"}, "invalid_identifier"),
    ("orders", {"crm_id": None, "email": "jane.doe@"}, "invalid_identifier"),  # no usable identifier left
    ("support", {"crm_id": [3], "email": None, "phone": "12"}, "invalid_identifier"),
    ("engagement", {"crm_id": None, "email": None, "phone": None}, "missing_identifier"),
    ("consent", {"crm_id": None, "email": "jane.doe@"}, "invalid_identifier"),  # the consent's subject
    ("consent", {"crm_id": {"id": 1234567}}, "schema_violation"),
    ("web", {"anonymous_id": {"id": 987654321}, "product_id": 5.5}, "schema_violation"),
])
def test_required_fields_still_dead_letter(parser, stream, changes, reason):
    res = parser.parse_full(stream, raw(stream, **changes))
    assert isinstance(res.result, DeadLetter) and res.result.reason == reason, res.result
    assert res.warnings == ()


def test_parse_and_validate_emits_warnings_beside_the_events():
    records = [RawRecord("crm", raw("crm", timezone="Eastern Standard Time"), "crm.jsonl:1"),
               RawRecord("support", raw("support", csat=9), "support.jsonl:1"),
               RawRecord("orders", raw("orders"), "orders.jsonl:1"),
               RawRecord("orders", raw("orders", order_id=[1]), "orders.jsonl:2")]
    with TestPipeline() as p:
        out = p | beam.Create(records) | ParseAndValidate()
        assert_that(out[tparse.EVENTS] | "uids" >> beam.Map(lambda e: e.uid),
                    equal_to(["crm/c1", "support/s1", "orders/o1"]), label="events")
        assert_that(out[tparse.WARNINGS] | "w" >> beam.Map(lambda w: (w.source, w.field, w.reason)),
                    equal_to([("crm.jsonl:1", "timezone", "windows_timezone"),
                              ("support.jsonl:1", "csat", "out_of_range")]), label="warnings")
        assert_that(out[tparse.DEAD] | "d" >> beam.Map(lambda d: d.reason), equal_to(["schema_violation"]),
                    label="dead")


def test_generated_malformed_lines_get_the_labelled_outcome(tmp_path, parser):
    generate(150, 6, 3, tmp_path)
    seen = {"dead_letter": 0, "field_warning": 0}
    for e in (json.loads(x) for x in (tmp_path / "malformed_expected.jsonl").read_text().splitlines()):
        line = (tmp_path / f"{e['stream']}.jsonl").read_bytes().splitlines()[e["line"] - 1]
        res = parser.parse_full(e["stream"], line)
        outcome, reason = expected_outcome(e["stream"], e["kind"], e["detail"])
        seen[outcome] += 1
        if outcome == "dead_letter":
            assert isinstance(res.result, DeadLetter) and res.result.reason == reason, (e, res.result)
        else:
            assert isinstance(res.result, Event), (e, res.result)
            assert reason in [w.reason for w in res.warnings], (e, res.warnings)
    assert seen["dead_letter"] and seen["field_warning"]


# ------------------------------------------------------------------------------------------ through the replay
H, D = td(hours=1), td(days=1)


def build() -> Scenario:
    s = Scenario()
    # 1. a CRM contact with a Windows zone name: kept, linked, welcomed at 08:00 New York time (quiet hours)
    s.add("crm", td(0), crm_id="CWIN", email="win@example.com", type="contact_created", lifecycle_stage="lead",
          timezone="Eastern Standard Time", owner_id="owner-01")
    s.add("consent", td(seconds=1), email="win@example.com", channel="email", status="granted")
    # 1b. an unknown zone: kept, the policy's default_timezone (UTC) applies: welcomed after the 15 min settle
    s.add("crm", td(0), crm_id="CMARS", email="mars@example.com", type="contact_created", lifecycle_stage="lead",
          timezone="Mars/Olympus_Mons", owner_id="owner-01")
    s.add("consent", td(seconds=1), email="mars@example.com", channel="email", status="granted")
    # 2. a high-severity ticket with a valid crm_id and a UK number written nationally (region US): kept, and the
    #    promo the customer's browsing triggers meanwhile is suppressed as open_ticket
    s.contact(-10 * D, "CUK", email="uk@example.com")
    s.add("web", -9 * D, anonymous_id="dev-uk", type="login", user_id="CUK")
    s.add("support", td(0), crm_id="CUK", phone="020 7946 0958", ticket_id="T-UK", type="ticket_opened",
          severity="high")
    for i in range(3):
        s.add("web", (i + 1) * H, anonymous_id="dev-uk", type="product_view", product_id="SKU-9")
    return s


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    summary, _audit, out = replay_scenario(build(), tmp_path_factory.mktemp("fieldwarn"))
    return summary, out


def _customer(audit, cid):
    return sorted((d for d in audit if d["customer_id"] == cid), key=lambda d: d["decided_at"])


def test_replay_keeps_the_windows_zone_contact_and_welcomes_it_in_new_york_time(replay):
    summary, out = replay
    audit = read_topic(out, "decisions-audit")
    sends = [d for d in _customer(audit, "crm:CWIN") if d["journey_id"] == "welcome" and d["action"] == "send"]
    assert sends and sends[0]["step_id"] == "welcome_email"
    assert sends[0]["decided_at"] == parse_ts("2026-10-05T08:00:00-04:00")  # quiet hours end, New York time
    emails = {m["decision_id"]: m["address"] for m in read_topic(out, "decisions-email")}
    assert emails[sends[0]["decision_id"]] == "win@example.com"  # the email send has its address
    snap = pq.read_table(out / "tables" / "customer_snapshots").to_pylist()
    assert {r["customer_id"]: r["timezone"] for r in snap}["crm:CWIN"] == "America/New_York"
    mars = [d for d in _customer(audit, "crm:CMARS") if d["journey_id"] == "welcome" and d["action"] == "send"]
    assert mars and mars[0]["decided_at"] == parse_ts(T0.isoformat()) + 15 * 60_000  # UTC, the default zone


def test_replay_keeps_the_ticket_and_suppresses_the_promo(replay):
    _summary, out = replay
    audit = read_topic(out, "decisions-audit")
    mine = _customer(audit, "crm:CUK")
    promos = [c for d in mine for c in d["candidates"] if c["journey_id"] == "browse_offer"]
    assert promos and promos[0]["reason"] == "open_ticket"
    assert not [d for d in mine if d["journey_id"] == "browse_offer" and d["action"] == "send"]


def test_replay_writes_warnings_topic_table_and_summary(replay):
    summary, out = replay
    assert summary.reconciles and sum(summary.dead_letters.values()) == 0
    assert summary.records_read == build().n == summary.events_decided
    assert dict(summary.field_warnings) == {"windows_timezone": 1, "unknown_timezone": 1, "invalid_identifier": 1}
    text = summary.render()
    assert "field warnings              3" in text
    for reason in ("windows_timezone", "unknown_timezone", "invalid_identifier"):
        assert any(line.split() == [reason, "1"] for line in text.splitlines()), text
    topic = read_topic(out, "field-warnings")
    table = pq.read_table(out / "tables" / "field_warnings").to_pylist()
    assert len(topic) == len(table) == 3
    phone = next(w for w in topic if w["field"] == "phone")
    assert phone["stream"] == "support" and phone["value"] is None and "7946" not in json.dumps(topic)
    from journeyflow.analytics.quality import validate_output
    report = validate_output(out)
    checks = {(r.table, r.check): r.success for r in report.results}
    assert checks[("field_warnings", "reason_known")] and checks[("field_warnings", "no_raw_phone")]
    assert all(ok for (t, _c), ok in checks.items() if t == "field_warnings"), report.render()


def _audit_ids(out: Path) -> set[str]:
    return {d["decision_id"] for d in read_topic(out, "decisions-audit")}


def test_a_record_dated_2099_changes_no_decision_in_a_june_2026_replay(tmp_path):
    data = tmp_path / "june"
    generate(40, 20, 5, data, start="2026-06-01T00:00:00+00:00", malformed_rate=0.0)
    far = tmp_path / "far"
    shutil.copytree(data, far)
    with open(far / "web.jsonl", "a") as f:
        f.write(json.dumps({"event_id": "web-2099", "ts": "2099-06-15T12:00:00+00:00", "anonymous_id": "dev-far",
                            "type": "page_view"}) + "\n")
    base = run_replay(["--input", str(data), "--output", str(tmp_path / "o-base")])
    kept = run_replay(["--input", str(far), "--output", str(tmp_path / "o-far")])
    assert kept.reconciles and kept.records_read == base.records_read + 1
    assert kept.dead_letters["timestamp_out_of_range"] == base.dead_letters["timestamp_out_of_range"] + 1
    dl = [d for d in read_topic(tmp_path / "o-far", "dead-letter") if d["reason"] == "timestamp_out_of_range"]
    assert [d["source"] for d in dl] == [f"web.jsonl:{sum(1 for _ in open(far / 'web.jsonl'))}"]
    assert _audit_ids(tmp_path / "o-far") == _audit_ids(tmp_path / "o-base")
    # the horizon is the accepted data's: no decision after the last accepted event
    last = max(d["decided_at"] for d in read_topic(tmp_path / "o-far", "decisions-audit"))
    assert last < parse_ts("2026-07-01T00:00:00+00:00")
    # without the bound (only the absurd-time limit, year 2100) the one record moves everybody's horizon
    unbounded = run_replay(["--input", str(far), "--output", str(tmp_path / "o-none"), "--max_event_time", "none"])
    assert unbounded.dead_letters["timestamp_out_of_range"] == base.dead_letters["timestamp_out_of_range"]
    assert _audit_ids(tmp_path / "o-none") - _audit_ids(tmp_path / "o-base"), \
        "the 2099 record should have fired other customers' timers: the bound above is what prevents it"
    # an absolute bound works the same way
    absolute = run_replay(["--input", str(far), "--output", str(tmp_path / "o-abs"),
                           "--max_event_time", "2026-07-01T00:00:00Z"])
    assert absolute.dead_letters["timestamp_out_of_range"] == base.dead_letters["timestamp_out_of_range"] + 1
    assert _audit_ids(tmp_path / "o-abs") == _audit_ids(tmp_path / "o-base")


def test_max_event_time_option_forms():
    from journeyflow.pipelines.options import EventTimeBound, resolve_max_event_time
    now = parse_ts("2026-11-29T12:00:00Z")
    assert resolve_max_event_time(None) == EventTimeBound(ahead_ms=86_400_000)
    assert resolve_max_event_time("now+36h").absolute(now) == now + 36 * 3_600_000
    assert resolve_max_event_time("now").absolute(now) == now
    assert resolve_max_event_time("2026-07-01T00:00:00+02:00").absolute(now) == parse_ts("2026-06-30T22:00:00Z")
    assert resolve_max_event_time("1790848800000").at == 1790848800000
    assert resolve_max_event_time("none").at == parse_ts("2100-01-01T00:00:00Z")
    for bad in ("tomorrow", "now-1d", "now+1y", ""):
        with pytest.raises(ValueError):
            resolve_max_event_time(bad)


def test_relative_bound_uses_the_arrival_time(parser):
    p = Parser(Hasher(b"k"), ParseConfig(max_ahead_ms=86_400_000))
    rec = raw("web")
    assert isinstance(p.parse("web", rec, received_at=TS), Event)
    assert isinstance(p.parse("web", rec, received_at=TS - 86_400_000), Event)  # exactly one day ahead: kept
    late = p.parse("web", rec, received_at=TS - 86_400_001)
    assert isinstance(late, DeadLetter) and late.reason == "timestamp_out_of_range" and late.event_time == TS
    assert isinstance(p.parse("web", rec), Event)  # no arrival time: only the absolute range applies


def test_streaming_helpers_publish_time_and_warning_message():
    from datetime import datetime, timezone

    from apache_beam.io.gcp.pubsub import PubsubMessage

    from journeyflow.pipelines.options import JourneyflowOptions
    from journeyflow.pipelines.stream import stream_parse_config
    from journeyflow.transforms.outputs import field_warning_message
    from journeyflow.transforms.sinks.pubsub import to_pubsub
    from journeyflow.transforms.sources import _publish_ms, _to_raw
    from apache_beam.options.pipeline_options import PipelineOptions
    at = datetime(2026, 10, 1, 10, 0, 0, 123999, tzinfo=timezone.utc)
    msg = PubsubMessage(b"{}", {}, message_id="m1", publish_time=at)
    assert _publish_ms(msg) == TS + 123  # exact, truncated to the millisecond
    assert _to_raw(msg, "web") == RawRecord("web", b"{}", "pubsub:m1", TS + 123, {})
    relative = stream_parse_config(PipelineOptions([]).view_as(JourneyflowOptions))
    assert relative.max_ahead_ms == 86_400_000 and relative.max_ts == parse_ts("2100-01-01T00:00:00Z")
    absolute = stream_parse_config(PipelineOptions(["--max_event_time", "2027-01-01T00:00:00Z"])
                                   .view_as(JourneyflowOptions))
    assert absolute.max_ahead_ms is None and absolute.max_ts == parse_ts("2027-01-01T00:00:00Z")
    w = Parser(Hasher(b"k")).parse_full("support", raw("support", csat=9), "pubsub:m2").warnings[0]
    message = field_warning_message(w)
    topic, m = message.topic, to_pubsub(message)
    assert topic == "field-warnings" and m.attributes == {"stream": "support", "field": "csat",
                                                          "reason": "out_of_range"}
    assert json.loads(m.data) == w.to_dict() and not math.isnan(json.loads(m.data)["event_time"])
