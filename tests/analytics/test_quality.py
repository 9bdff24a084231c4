"""Data quality suites (GX Core) over hand-made analyst tables in the replay's layout.

``build_output`` writes a small but complete ``OUT/tables`` (two journeys, conflicts, control group, consent
suppression, identity links, dead letters); test_query.py and test_report.py reuse it.
"""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from journeyflow.analytics.tables import TABLES, load_tables, read_table, write_table
from journeyflow.config.errors import UserError
from journeyflow.model.tables import arrow_schema

DAY = 86_400_000
HOUR = 3_600_000
T0 = int(datetime(2026, 10, 5, tzinfo=timezone.utc).timestamp() * 1000)  # a Monday
HEX_A = "1234567890abcdef1234567890abcdef"  # digit runs inside hashed keys must not look like phones
HEX_B = "9f86d081884c7d659a2feaa0c55ad015"


def C(n: int) -> str:
    return f"crm:C{n:06d}"


def _cand(journey, step, channel, reason, action="send", category="marketing", content=None, priority=10):
    return {"journey_id": journey, "step_id": step, "action": action, "channel": channel,
            "content_id": content or f"{journey}.{step}", "category": category, "priority": priority,
            "reason": reason}


ADDRESS_KEYS = {"email": f"email:{HEX_B}", "sms": f"phone:{HEX_A}", "call": f"phone:{HEX_A}"}


def _dec(did, cust, at, action, journey=None, step=None, channel=None, category="marketing", codes=("chosen",),
         candidates=(), trigger="web/evt-000001", content=None, priority=10, address_key=None):
    if address_key is None and action == "send":  # (a push goes to the customer's CRM id: push_address)
        address_key = cust if channel == "push" and cust.startswith("crm:") else ADDRESS_KEYS.get(channel)
    return {"decision_id": did, "customer_id": cust, "decided_at": at, "journey_id": journey, "step_id": step,
            "action": action, "channel": channel,
            "content_id": content if content is not None else (f"{journey}.{step}" if journey else None),
            "category": category if journey else None, "priority": priority if journey else 0,
            "reason_codes": list(codes), "candidates": [dict(c) for c in candidates], "trigger_event_id": trigger,
            "address_key": address_key}


def _steps(cust, journey, *items):
    return [{"customer_id": cust, "journey_id": journey, "step_id": step, "kind": kind, "at": at,
             "trigger_id": f"web/evt-{i:06d}", "detail": detail} for i, (kind, step, at, detail) in enumerate(items)]


def good_rows() -> dict[str, list[dict]]:
    """Rows of every table: consistent with each other and with the suites."""
    CA, WE = "cart_abandonment", "welcome"
    timer = f"timer:{CA}:reminder_1:{T0 + DAY + 10 * HOUR}"  # timer ids end in an epoch: not a phone
    decisions = [
        # C1: reminder sent by email, then a purchase (goal)
        _dec("d_000000000000000000000001", C(1), T0 + DAY + 10 * HOUR, "send", CA, "reminder_1", "email",
             trigger=timer),
        # C1: a rule suppressed a push
        _dec("d_000000000000000000000002", C(1), T0 + DAY + 11 * HOUR, "suppress", codes=("rule:no_weekend",),
             candidates=[_cand(WE, "welcome_1", "push", "rule:no_weekend")], trigger="web/evt-000011"),
        # C2: quiet hours deferral, two reminders (the second beat a push on frequency cap)
        _dec("d_000000000000000000000003", C(2), T0 + 23 * HOUR, "wait", CA, "reminder_1", "push",
             codes=("quiet_hours_deferred",), trigger="web/evt-000021"),
        _dec("d_000000000000000000000004", C(2), T0 + DAY + 11 * HOUR, "send", CA, "reminder_1", "email",
             trigger=f"defer:{CA}:reminder_1:push:web/evt-000021:{T0 + DAY + 11 * HOUR}"),
        _dec("d_000000000000000000000005", C(2), T0 + 2 * DAY + 11 * HOUR, "send", CA, "reminder_2", "sms",
             candidates=[_cand(CA, "reminder_2", "push", "frequency_cap")], trigger="web/evt-000022"),
        # C3: control group, recorded as a "none" decision
        _dec("d_000000000000000000000006", C(3), T0 + DAY + 12 * HOUR, "none", codes=("control_group",),
             candidates=[_cand(CA, "reminder_1", "email", "control_group")], trigger="web/evt-000031"),
        # C4: sms reminder blocked by consent; welcome email beat the cart reminder email (conflict)
        _dec("d_000000000000000000000007", C(4), T0 + DAY + 9 * HOUR, "suppress", codes=("consent",),
             candidates=[_cand(CA, "reminder_1", "sms", "consent")], trigger="web/evt-000041"),
        _dec("d_000000000000000000000008", C(4), T0 + DAY + 12 * HOUR, "send", WE, "welcome_1", "email",
             candidates=[_cand(CA, "reminder_1", "email", "lower_priority", priority=5),
                         _cand(CA, "reminder_1", "push", "duplicate_content", priority=5)],
             trigger="crm/evt-000042", priority=20),
        # C5: welcome email and a CRM task
        _dec("d_000000000000000000000009", C(5), T0 + 8 * HOUR, "send", WE, "welcome_1", "email",
             trigger="crm/evt-000051"),
        _dec("d_000000000000000000000010", C(5), T0 + 2 * DAY, "create_task", WE, "call_back", "crm_task",
             category="sales", trigger="crm/evt-000052", content="task.call_back"),
        # an anonymous visitor (no CRM id: no push address, push_devices.push_address) and a hashed-email customer
        _dec("d_000000000000000000000011", "anon:dev-7f3a9c", T0 + 3 * DAY, "suppress", codes=("no_address",),
             candidates=[_cand(CA, "reminder_1", "push", "no_address")], trigger="web/evt-000061"),
        _dec("d_000000000000000000000012", f"email:{HEX_A}", T0 + 3 * DAY + HOUR, "send", CA, "reminder_1",
             "email", trigger="orders/ORD-000123", address_key=f"email:{HEX_A}"),
    ]
    suppressed = [
        {"decision_id": d["decision_id"], "customer_id": d["customer_id"], "decided_at": d["decided_at"], **c,
         "trigger_event_id": d["trigger_event_id"]}
        for d in decisions for c in d["candidates"]]
    steps = [
        *_steps(C(1), CA, ("entered", None, T0 + 10 * HOUR, "cart SKU-001"),
                ("step", "reminder_1", T0 + DAY + 10 * HOUR, None),
                ("goal", None, T0 + DAY + 15 * HOUR, "order ORD-000123 on 2026-10-06")),
        *_steps(C(2), CA, ("entered", None, T0 + 11 * HOUR, None), ("step", "reminder_1", T0 + DAY + 11 * HOUR, None),
                ("step", "reminder_2", T0 + 2 * DAY + 11 * HOUR, None), ("exited", None, T0 + 3 * DAY, "max_steps")),
        *_steps(C(3), CA, ("entered", None, T0 + 12 * HOUR, None), ("step", "reminder_1", T0 + DAY + 12 * HOUR, None),
                ("goal", None, T0 + 2 * DAY, None)),
        *_steps(C(4), CA, ("entered", None, T0 + 9 * HOUR, None), ("step", "reminder_1", T0 + DAY + 9 * HOUR, None),
                ("exited", None, T0 + 2 * DAY, "goal_timeout")),
        *_steps(C(4), WE, ("entered", None, T0 + DAY + 12 * HOUR, None),
                ("step", "welcome_1", T0 + DAY + 12 * HOUR, None)),
        *_steps(C(5), WE, ("entered", None, T0 + 8 * HOUR, None), ("step", "welcome_1", T0 + 8 * HOUR, None),
                ("step", "call_back", T0 + 2 * DAY, None), ("goal", None, T0 + 3 * DAY, None)),
        *_steps(C(6), WE, ("entry_refused", None, T0 + 9 * HOUR, "cooldown")),
        *_steps("anon:dev-7f3a9c", CA, ("entered", None, T0 + 2 * DAY, None),
                ("step", "reminder_1", T0 + 3 * DAY, None), ("waiting", "reminder_2", T0 + 3 * DAY, "24h")),
        *_steps(f"email:{HEX_A}", CA, ("entered", None, T0 + 2 * DAY, None),
                ("step", "reminder_1", T0 + 3 * DAY + HOUR, None)),
    ]

    def snap(cust, ids, email="granted", sms="granted", journeys=(), addresses=()):
        return {"customer_id": cust, "snapshot_at": T0 + 4 * DAY, "identifiers": ids, "crm_ids": 1, "emails": 1,
                "phones": 0, "devices": 1, "timezone": "Europe/Paris", "lifecycle_stage": "customer",
                "consent_email": email, "consent_sms": sms, "consent_push": None, "consent_call": None,
                "address_status": [{"address_key": k, "channel": ch, "status": st, "since": t}
                                   for k, ch, st, t in addresses],
                "open_tickets": 0, "orders_90d": 1, "cart_size": 0, "messages_7d": 1,
                "active_journeys": list(journeys), "pending_timers": 0, "first_seen": T0,
                "last_event": T0 + 3 * DAY, "state_bytes": 512}

    snapshots = [
        snap(C(1), [C(1), f"email:{HEX_B}", f"phone:{HEX_A}"],
             addresses=[(f"email:{HEX_B}", "email", "granted", T0), (f"phone:{HEX_A}", "sms", "granted", T0)]),
        snap(C(2), [C(2), "anon:dev-000123456789"], journeys=["cart_abandonment"]),
        snap(C(3), [C(3)]),
        snap(C(4), [C(4), f"email:{HEX_A[::-1]}"], sms="revoked", journeys=["welcome"]),
        # the address decision 12 was sent to, unsubscribed after that send (in another customer's snapshot)
        snap(C(5), [C(5)], email="unsubscribed",
             addresses=[(f"email:{HEX_A}", "email", "unsubscribed", T0 + 3 * DAY + 2 * HOUR)]),
        snap(C(6), [C(6)]),
        snap("anon:dev-7f3a9c", ["anon:dev-7f3a9c"], email=None, sms=None, journeys=["cart_abandonment"]),
        snap(f"email:{HEX_A}", [f"email:{HEX_A}"], sms=None, journeys=["cart_abandonment"]),
    ]
    links = [
        {"identifier_a": C(1), "identifier_b": f"email:{HEX_B}", "customer_id": C(1), "event_id": "crm/evt-000001",
         "stream": "crm", "ts": T0, "status": "accepted", "reason": None},
        {"identifier_a": C(1), "identifier_b": f"phone:{HEX_A}", "customer_id": C(1), "event_id": "crm/evt-000001",
         "stream": "crm", "ts": T0, "status": "accepted", "reason": None},
        {"identifier_a": C(2), "identifier_b": "anon:dev-000123456789", "customer_id": C(2),
         "event_id": "web/evt-000020", "stream": "web", "ts": T0 + HOUR, "status": "accepted", "reason": None},
        {"identifier_a": C(3), "identifier_b": "anon:dev-000123456789", "customer_id": C(2),
         "event_id": "web/evt-000030", "stream": "web", "ts": T0 + 2 * HOUR, "status": "refused",
         "reason": "kind_cap:crm"},
    ]
    dead = [
        {"stream": "web", "reason": "invalid_json", "detail": "Expecting ',' delimiter: line 1 column 40",
         "payload": '{"email": "<email>", "phone": "<phone>", "ts": <phone>', "source": "web.jsonl:17",
         "event_time": None},
        {"stream": "orders", "reason": "timestamp_out_of_range",
         "detail": "ts '<phone>T00:00:00+00:00' is outside the accepted range", "payload": '{"ts": "<phone>"}',
         "source": "orders.jsonl:3", "event_time": T0 - 3000 * DAY},  # absurd: not used for the input range
        {"stream": "web", "reason": "duplicate_event", "detail": "event web/evt-000011 was already processed",
         "payload": "", "source": "web/evt-000011", "event_time": T0 + DAY + 11 * HOUR},
        {"stream": "consent", "reason": "multiple_identifiers", "detail": "consent names email and phone",
         "payload": '{"channel": "sms", "email": "<email>", "phone": "<phone>"}', "source": "consent.jsonl:9",
         "event_time": T0 + 5 * HOUR},
    ]
    def warn(stream, event_id, fld, reason, value, action="dropped", at=T0 + 2 * HOUR):
        return {"stream": stream, "event_id": event_id, "field": fld, "reason": reason, "action": action,
                "detail": f"{fld}: {reason}", "value": value, "source": f"{stream}.jsonl:{len(event_id)}",
                "event_time": at}

    warnings = [
        warn("crm", "evt-000001", "timezone", "windows_timezone", '"Eastern Standard Time"', action="replaced"),
        warn("crm", "evt-000002", "timezone", "unknown_timezone", '"Mars/Olympus_Mons"'),
        warn("support", "evt-000003", "phone", "invalid_identifier", None),
        warn("support", "evt-000004", "csat", "out_of_range", "9", at=T0 + DAY),
        warn("orders", "evt-000005", "amount", "wrong_type", '"12,50"'),
        warn("web", "evt-000006", "email", "invalid_identifier", None),
    ]
    return {"decisions": decisions, "suppressed_candidates": suppressed, "journey_steps": steps,
            "customer_snapshots": snapshots, "identity_links": links, "dead_letter": dead,
            "field_warnings": warnings}


def broken_rows() -> dict[str, list[dict]]:
    rows = copy.deepcopy(good_rows())
    dec = rows["decisions"]
    dup = dict(dec[0], customer_id=C(9), candidates=[])
    dec.append(dup)  # duplicate decision_id
    dec.append(_dec("d_000000000000000000000099", C(9), T0 + DAY, "explode", codes=("chosen",)))  # unknown action
    rows["dead_letter"][0]["payload"] = '{"email": "Jane.Doe@example.com", "ts": 1}'  # raw email
    rows["customer_snapshots"][0]["identifiers"].append("phone:+14155550100")  # raw phone in a list column
    rows["identity_links"][3]["reason"] = None  # refused link without a reason
    rows["field_warnings"][2]["value"] = '"+44 20 7946 0958"'  # an identifier's value kept (and it is raw PII)
    rows["field_warnings"][3]["reason"] = "looked_odd"  # not a field-warning reason
    rows["field_warnings"][4]["field"] = "order_id"  # a required field is never a warning
    return rows


def build_output(out_dir: Path, rows: dict[str, list[dict]] | None = None) -> Path:
    rows = good_rows() if rows is None else rows
    for name in TABLES:
        write_table(out_dir, name, rows[name])
    (out_dir / "topics").mkdir(parents=True, exist_ok=True)
    return out_dir


BROKEN = {
    ("decisions", "decision_id_unique"),
    ("decisions", "action_known"),
    ("dead_letter", "no_raw_email"),
    ("customer_snapshots", "no_raw_phone"),
    ("identity_links", "refused_link_has_reason"),
    ("field_warnings", "no_value_for_phone"),
    ("field_warnings", "no_raw_phone"),
    ("field_warnings", "reason_known"),
    ("field_warnings", "field_is_optional"),
}


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def good_out(tmp_path_factory) -> Path:
    return build_output(tmp_path_factory.mktemp("good"))


@pytest.fixture(scope="module")
def good_report(good_out):
    from journeyflow.analytics.quality import validate_output
    return validate_output(good_out)


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory):
    from journeyflow.analytics.quality import validate_output
    return validate_output(build_output(tmp_path_factory.mktemp("broken"), broken_rows()))


# ------------------------------------------------------------------------------------------------ tables
def test_read_table_layout_and_schema(good_out):
    rows = good_rows()
    for name in TABLES:
        t = read_table(good_out, name)
        assert t.schema == arrow_schema(name), name  # the date partition column is dropped
        assert t.num_rows == len(rows[name]), name
    assert (good_out / "tables/decisions/_schema.parquet").exists()
    assert any(p.name.startswith("date=") for p in (good_out / "tables/decisions").iterdir())
    assert set(load_tables(good_out)) == set(TABLES)


def test_read_table_empty_unknown_and_missing(tmp_path):
    write_table(tmp_path, "decisions", [])
    assert read_table(tmp_path, "decisions").num_rows == 0  # only _schema.parquet
    write_table(tmp_path, "dead_letter", [{"stream": "web", "reason": "invalid_json", "detail": "x",
                                           "payload": "{", "source": "web.jsonl:1", "event_time": None}])
    assert (tmp_path / "tables/dead_letter/date=unknown/part-00000.parquet").exists()
    assert read_table(tmp_path, "dead_letter").num_rows == 1
    assert read_table(tmp_path, "identity_links").num_rows == 0  # no directory: empty, right schema
    with pytest.raises(ValueError):
        read_table(tmp_path, "nope")
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing", "decisions")


# ------------------------------------------------------------------------------------------------ regexes
def test_pii_patterns_catch_raw_values_and_spare_ids():
    from journeyflow.analytics.quality import EMAIL_REGEX, PHONE_REGEX
    email, phone = re.compile(EMAIL_REGEX), re.compile(PHONE_REGEX)
    for s in ["jane.doe@example.com", 'x {"e": "a+b@mail.co.uk"}']:
        assert email.search(s), s
    for s in ["+1 (415) 555-0100", "+14155550100", "call (415) 555-0134 now", "phone:+14155550100",
              '{"phone": "+33 6 12 34 56 78"}', "tel. 415.555.0100", '"020 7946 0958"', "415-555-0134"]:
        assert phone.search(s), s
    ids = ["crm:C000123", "SKU-001", "ORD-000123", "ORD-000123456", f"email:{HEX_A}", f"phone:{HEX_A}",
           "d_1234567890abcdef12345678", "anon:dev-000123456789", f"timer:cart:reminder_1:{T0}",
           f"defer:cart:r1:push:web/evt-000021:{T0}", "web/evt-000001", "<email>", "<phone>",
           "order ORD-000123 on 2026-10-06", "2026-10-06T10:00:00+00:00", "web.jsonl:17", "score 0.123456789",
           "kind_cap:crm", "rule:no_weekend", "Europe/Paris", '{"ts": 1790820058024, "price": 61.99}',
           '{"anonymous_id": 987654321}', "12345678-1234-5678-9012-123456789012", "GMT+25", "+00:00",
           "ts 'Oct 5 2026 10:00AM' is not ISO-8601"]
    for s in ids:
        assert not email.search(s) and not phone.search(s), s


def test_reason_vocabularies():
    from journeyflow.analytics.quality import DEAD_LETTER_REASONS, SUPPRESSION_REASON_REGEX, SUPPRESSION_REASONS
    from journeyflow.stages.arbitration import REASON_CODES
    assert {"invalid_json", "timestamp_out_of_range", "invalid_field", "duplicate_event",
            "late_event", "processing_error"} <= set(DEAD_LETTER_REASONS)
    assert {"missing_ts_attribute", "bad_ts_attribute", "ts_attribute_out_of_range", "ts_mismatch"} <= \
        set(DEAD_LETTER_REASONS)
    assert {"transfer_unknown_version", "transfer_missing_target", "transfer_undecodable",
            "transfer_invalid"} <= set(DEAD_LETTER_REASONS)
    from journeyflow.model.reasons import DeadLetterReason
    assert "reason" not in DEAD_LETTER_REASONS
    assert sorted(DEAD_LETTER_REASONS) == sorted(r.value for r in DeadLetterReason)  # the one list, no copy
    assert set(REASON_CODES) <= set(SUPPRESSION_REASONS)
    rx = re.compile(SUPPRESSION_REASON_REGEX)
    assert rx.search("consent") and rx.search("rule:vip_only") and rx.search("control_group")
    assert not rx.search("consentx") and not rx.search("rule:") and not rx.search("bogus")


# ------------------------------------------------------------------------------------------------ suites
def test_good_tables_pass(good_report, good_out):
    assert good_report.ok, good_report.render()
    assert not good_report.missing_tables
    checks = {(r.table, r.check) for r in good_report.results}
    for expected in [("decisions", "decision_id_unique"), ("decisions", "send_not_blocked_by_consent"),
                     ("decisions", "decided_at_in_input_range"), ("suppressed_candidates", "reason_known"),
                     ("journey_steps", "kind_known"), ("customer_snapshots", "customer_id_unique"),
                     ("identity_links", "accepted_link_has_no_reason"), ("dead_letter", "reason_known"),
                     ("decisions", "no_raw_phone"), ("dead_letter", "no_raw_email"),
                     ("customer_snapshots", "no_raw_email"),
                     ("decisions", "no_send_where_consent_blocked_same_moment"),
                     ("decisions", "send_has_address"), ("decisions", "send_not_to_blocked_address"),
                     ("suppressed_candidates", "belongs_to_a_decision"), ("field_warnings", "reason_known"),
                     ("field_warnings", "field_is_optional"), ("field_warnings", "no_value_for_email"),
                     ("field_warnings", "event_time_in_input_range")]:
        assert expected in checks, expected
    # every table has a PII scan covering every string, list items and struct fields included
    from journeyflow.analytics.quality import _strings_frame
    for name in TABLES:
        assert (name, "no_raw_email") in checks and (name, "no_raw_phone") in checks
        table = read_table(good_out, name)
        scanned = set(_strings_frame(name, table)["column"])
        strings = {f.name for f in arrow_schema(name) if str(f.type) == "string"
                   and table.column(f.name).null_count < table.num_rows}  # nulls are not scanned
        assert strings and strings <= scanned, name
    long = _strings_frame("decisions", read_table(good_out, "decisions"))
    assert {"reason_codes[]", "candidates[].content_id", "candidates[].reason"} <= set(long["column"])
    pii = next(r for r in good_report.results if (r.table, r.check) == ("decisions", "no_raw_phone"))
    assert pii.element_count == len(long) > 4 * len(good_rows()["decisions"])
    # range derived from steps/snapshots/dead letters, ignoring the absurd out-of-range dead letter
    lo, hi = good_report.input_range
    assert T0 - 2 * DAY < lo <= T0 and T0 + 3 * DAY <= hi < T0 + 5 * DAY
    text = good_report.render()
    assert "OK" in text.splitlines()[0] and "decision_id_unique" in text


def test_broken_tables_fail_with_the_expectations_named(broken_report):
    assert not broken_report.ok
    assert broken_report.failed_checks() == BROKEN, broken_report.render()
    text = broken_report.render()
    assert text.splitlines()[0].startswith("data quality of") and "FAILED" in text.splitlines()[0]
    for table, check in BROKEN:
        assert re.search(rf"FAIL\s+{re.escape(check)}\s", text), (table, check)
    for gx_name in ["expect_column_values_to_be_unique(decision_id)", "expect_column_values_to_be_in_set(action)",
                    "expect_column_values_to_not_match_regex(payload)",
                    "expect_column_values_to_not_match_regex(identifiers[])",
                    "expect_column_values_to_not_be_null(reason)"]:
        assert gx_name in text, gx_name
    by = {(r.table, r.check): r for r in broken_report.results}
    assert "explode" in by[("decisions", "action_known")].examples
    phone = by[("customer_snapshots", "no_raw_phone")]
    assert phone.examples == ("phone:<phone …00>",) and phone.keys == (C(1),) and phone.column == "identifiers[]"
    assert by[("dead_letter", "no_raw_email")].column == "payload"
    # the report names where the PII is, never the PII itself
    assert "Jane.Doe@example.com" not in text and "14155550100" not in text and "<email J…>" in text
    assert by[("decisions", "decision_id_unique")].unexpected_count == 2
    d = broken_report.to_dict()
    assert d["ok"] is False and len(d["results"]) == len(broken_report.results)


def test_explicit_range_and_cross_table_checks(tmp_path):
    """One more validation run: a given input range, a consent clash and an orphan suppressed candidate."""
    from journeyflow.analytics.quality import validate_output
    rows = good_rows()
    clash = _dec("d_000000000000000000000077", C(4), T0 + DAY + 9 * HOUR, "send", "cart_abandonment", "reminder_1",
                 "sms", trigger="web/evt-000041", codes=("chosen", "consent"))
    rows["decisions"].append(clash)
    rows["suppressed_candidates"].append({**rows["suppressed_candidates"][0], "decision_id": "d_orphan"})
    rep = validate_output(build_output(tmp_path, rows), input_range=("2026-10-05T00:00:00Z", T0 + DAY))
    assert rep.range_source == "given" and rep.input_range == (T0, T0 + DAY)
    failed = rep.failed_checks()
    assert {("decisions", "send_not_blocked_by_consent"), ("decisions", "no_send_where_consent_blocked_same_moment"),
            ("suppressed_candidates", "belongs_to_a_decision"), ("decisions", "decided_at_in_input_range"),
            ("journey_steps", "at_in_input_range"), ("suppressed_candidates", "decided_at_in_input_range")} == failed


def test_a_send_without_address_or_to_a_blocked_address_fails(tmp_path):
    """A send on email/sms/call needs an address_key, and the address may not be blocked at the send in any
    customer's snapshot (address statuses are shared by every customer holding the address)."""
    from journeyflow.analytics.quality import validate_output
    rows = good_rows()
    dec = rows["decisions"]
    dec.append(_dec("d_000000000000000000000081", C(6), T0 + DAY, "send", "welcome", "welcome_1", "email",
                    trigger="crm/evt-000081"))
    dec[-1]["address_key"] = None  # no address
    # sent at T0 + 3 days to an address that C(5)'s snapshot says was unsubscribed since T0 + 3 days - 1 ms
    dec.append(_dec("d_000000000000000000000082", C(6), T0 + 3 * DAY, "send", "welcome", "welcome_2", "email",
                    trigger="crm/evt-000082", address_key=f"email:{HEX_A[::-1]}"))
    rows["customer_snapshots"][4]["address_status"].append(
        {"address_key": f"email:{HEX_A[::-1]}", "channel": "email", "status": "unsubscribed",
         "since": T0 + 3 * DAY - 1})
    # a later send to a hard-bounced phone of C(1) on sms; a push to C(1)'s CRM id (its address) passes
    dec.append(_dec("d_000000000000000000000083", C(1), T0 + 3 * DAY, "send", "welcome", "sms_1", "sms",
                    trigger="crm/evt-000083", address_key=f"phone:{HEX_B}"))
    rows["customer_snapshots"][0]["address_status"].append(
        {"address_key": f"phone:{HEX_B}", "channel": "sms", "status": "bounced", "since": T0 + 2 * DAY})
    dec.append(_dec("d_000000000000000000000084", C(1), T0 + 3 * DAY, "send", "welcome", "push_1", "push",
                    trigger="crm/evt-000084"))
    rep = validate_output(build_output(tmp_path, rows))
    assert rep.failed_checks() == {("decisions", "send_has_address"), ("decisions", "send_not_to_blocked_address")}
    by = {(r.table, r.check): r for r in rep.results}
    assert by[("decisions", "send_has_address")].keys == ("d_000000000000000000000081",)
    assert by[("decisions", "send_has_address")].expectation == "expect_column_values_to_not_be_null"
    assert set(by[("decisions", "send_not_to_blocked_address")].keys) == {"d_000000000000000000000082",
                                                                          "d_000000000000000000000083"}


def test_empty_and_missing_tables(tmp_path):
    """A pipeline not fully wired: some tables empty (only _schema.parquet), the others missing."""
    from journeyflow.analytics.quality import validate_output
    for name in ("decisions", "suppressed_candidates", "dead_letter"):
        write_table(tmp_path, name, [])
    rep = validate_output(tmp_path)
    assert rep.missing_tables == ["journey_steps", "customer_snapshots", "identity_links", "field_warnings"]
    assert all(r.success for r in rep.results), rep.render()  # nothing wrong in empty tables...
    assert not rep.ok  # ...but a missing table directory is a failure
    assert "parse defaults" in rep.range_source
    text = rep.render()
    assert "FAIL table identity_links: directory tables/identity_links is missing" in text


def test_analytics_disabled_before_gx_import():
    import os
    import sys
    import journeyflow.analytics.quality  # noqa: F401
    assert os.environ.get("GX_ANALYTICS_ENABLED") is not None
    if "great_expectations" not in sys.modules or os.environ["GX_ANALYTICS_ENABLED"] == "False":
        assert os.environ["GX_ANALYTICS_ENABLED"] == "False"


def test_cli_validate(monkeypatch, capsys, good_report, broken_report, tmp_path):
    import argparse
    import journeyflow.analytics.quality as q
    from journeyflow.cli import COMMANDS
    from journeyflow.cli.validate import add_args as add_validate_args, run as cli_validate
    p = argparse.ArgumentParser()
    add_validate_args(p)
    seen = []

    def fake(out, input_range=None):
        seen.append((out, input_range))
        return broken_report if "broken" in out else good_report

    monkeypatch.setattr(q, "validate_output", fake)
    assert cli_validate(p.parse_args(["out/good"])) == 0
    assert "OK" in capsys.readouterr().out.splitlines()[0]
    assert cli_validate(p.parse_args(["out/broken", "--failures_only"])) == 1
    text = capsys.readouterr().out
    assert "decision_id_unique" in text and "ok    " not in text
    # each failure names its table (a check of one name runs on several tables: decided_at_in_input_range), and
    # a table without a failure is left out (qa16c)
    fails = [line.split()[1] for line in text.splitlines() if line.strip().startswith("FAIL")]
    assert fails and all("." in f and f.split(".")[0] in TABLES for f in fails), text
    assert not [t for t in TABLES if text.count(f"\n{t} (") and not any(f.startswith(t + ".") for f in fails)]
    assert cli_validate(p.parse_args(["out/broken", "--json", "--min_ts", "2026-10-05T00:00:00Z",
                                      "--max_ts", str(T0 + DAY)])) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert seen[-1] == ("out/broken", (1791158400000, T0 + DAY))  # (read as epoch ms, as replay --until is)
    with pytest.raises(UserError, match="--min_ts needs --max_ts too"):  # (give both: main says "error:", exit 2)
        cli_validate(p.parse_args(["out/x", "--min_ts", "2026-10-05T00:00:00Z"]))
    with pytest.raises(UserError, match="--min_ts '1'"):  # a bad lone bound is named first (main: exit 2)
        cli_validate(p.parse_args(["out/x", "--min_ts", "1"]))
    assert {"validate", "query", "report"} <= set(COMMANDS)


def test_written_parquet_is_what_pipeline_writes(good_out):
    f = next((good_out / "tables/decisions").glob("date=*/part-00000.parquet"))
    assert pq.read_schema(f).names == arrow_schema("decisions").names
