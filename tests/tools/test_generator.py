"""Tests for the deterministic sample-data generator (journeyflow.tools.generator)."""

from __future__ import annotations

import collections
import filecmp
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import fastavro
import phonenumbers
import pytest
from fastavro.validation import validate

from journeyflow.tools import generator
from journeyflow.tools.generator import MALFORMED_KINDS, STREAMS, GenerateSummary, generate

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
START = "2026-10-01T00:00:00+00:00"
START_MS = 1790812800000  # 2026-10-01T00:00:00Z
DAYS = 30
N = 300
SEED = 7
OUTPUT_FILES = [f"{s}.jsonl" for s in STREAMS] + [
    "ground_truth.jsonl", "ground_truth_shared.jsonl", "malformed_expected.jsonl"]
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDENTIFIER_FIELDS = {  # stream -> optional identifier fields (at least one must be set)
    "orders": ("crm_id", "email"),
    "support": ("crm_id", "email", "phone"),
    "engagement": ("email", "phone", "crm_id"),
    "consent": ("email", "phone", "crm_id"),
}
REGION_TZ = {
    "US": {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
           "America/Los_Angeles"},
    "CA": {"America/Toronto", "America/Vancouver"},
    "GB": {"Europe/London"}, "DE": {"Europe/Berlin"}, "FR": {"Europe/Paris"},
    "ES": {"Europe/Madrid"}, "IT": {"Europe/Rome"}, "NL": {"Europe/Amsterdam"},
    "AU": {"Australia/Sydney", "Australia/Perth"}, "JP": {"Asia/Tokyo"}, "IN": {"Asia/Kolkata"},
}


# ----------------------------------------------------------------------------- helpers

def ts_ms(ts) -> int:
    """Epoch ms of a ts value (int epoch ms or ISO-8601 with offset / Z)."""
    if isinstance(ts, bool):
        raise TypeError("bool ts")
    if isinstance(ts, int):
        return ts
    s = ts[:-1] + "+00:00" if ts.endswith("Z") else ts
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        raise ValueError(f"no UTC offset: {ts}")
    return int(round(dt.timestamp() * 1000))


def norm_email(e: str) -> str:
    return e.strip().lower()


def norm_phone(p: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(p, "US"), phonenumbers.PhoneNumberFormat.E164)


def read_jsonl(path: Path) -> list:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


class Data:
    """Parsed output of one generator run."""

    def __init__(self, out: Path, summary: GenerateSummary) -> None:
        self.out = out
        self.summary = summary
        avsc = {s: json.loads((SCHEMA_DIR / f"{s}.avsc").read_text()) for s in STREAMS}
        self.schemas = {s: fastavro.parse_schema(avsc[s]) for s in STREAMS}
        # (the optional anonymous_id of consent and engagement records -- an opt-out before login, qa13c -- is not
        # written by the generator, whose status records name the known customer; nor are an order's own
        # properties, optional since session 16)
        self.field_names = {s: [f["name"] for f in avsc[s]["fields"]
                                if not (f["name"] == "anonymous_id" and s in ("consent", "engagement"))
                                and not (f["name"] == "properties" and s == "orders")]
                            for s in STREAMS}
        self.symbols = {s: {f["name"]: f["type"]["symbols"] for f in avsc[s]["fields"]
                            if isinstance(f["type"], dict) and f["type"].get("type") == "enum"}
                        for s in STREAMS}
        self.expected = read_jsonl(out / "malformed_expected.jsonl")
        self.bad_lines = collections.defaultdict(dict)
        for e in self.expected:
            self.bad_lines[e["stream"]][e["line"]] = e["kind"]
        self.raw = {}   # stream -> list of raw lines
        self.good = {}  # stream -> list of (line number, record)
        for s in STREAMS:
            with open(out / f"{s}.jsonl", encoding="utf-8") as fh:
                self.raw[s] = fh.read().split("\n")
            assert self.raw[s][-1] == "", f"{s}.jsonl must end with a newline"
            self.raw[s].pop()
            self.good[s] = [(i, json.loads(line)) for i, line in enumerate(self.raw[s], 1)
                            if i not in self.bad_lines[s]]
        self.truth = read_jsonl(out / "ground_truth.jsonl")
        self.shared = read_jsonl(out / "ground_truth_shared.jsonl")
        self.person = {}  # raw identifier value -> person_id
        for g in self.truth:
            for key in ("emails", "phones", "anonymous_ids"):
                for v in g[key]:
                    self.person[v] = g["person_id"]
            if g["crm_id"]:
                self.person[g["crm_id"]] = g["person_id"]
        self.shared_values = {s["value"] for s in self.shared}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Data:
    out = tmp_path_factory.mktemp("gen") / "out"
    summary = generate(N, DAYS, SEED, out, start=START)
    return Data(out, summary)


# ----------------------------------------------------------------------------- determinism

def test_same_seed_gives_byte_identical_files_even_when_spilling(tmp_path, data, monkeypatch):
    # A second run with the same seed, forced through the on-disk sorted-run + merge path.
    monkeypatch.setattr(generator, "SPILL_LINES", 700)
    again = tmp_path / "again"
    generate(N, DAYS, SEED, again, start=START)
    for name in OUTPUT_FILES:
        assert filecmp.cmp(data.out / name, again / name, shallow=False), name
    assert sorted(p.name for p in again.iterdir()) == sorted(OUTPUT_FILES)  # temp runs removed


def test_other_seed_gives_different_files(tmp_path, data):
    other = tmp_path / "other"
    generate(N, DAYS, SEED + 1, other, start=START)
    for name in ("web.jsonl", "orders.jsonl", "ground_truth.jsonl", "malformed_expected.jsonl"):
        assert (data.out / name).read_bytes() != (other / name).read_bytes(), name


# ----------------------------------------------------------------------------- record shape

def test_good_records_match_avro_schema_exactly(data):
    for s in STREAMS:
        assert data.good[s], s
        for line, rec in data.good[s]:
            assert isinstance(rec, dict), (s, line)
            assert list(rec) == data.field_names[s], (s, line)
            assert validate(rec, data.schemas[s], raise_errors=False), (s, line, rec)


def test_event_ids_unique_and_events_sorted_in_window(data):
    end_ms = START_MS + DAYS * 86_400_000
    for s in STREAMS:
        ids = [rec["event_id"] for _, rec in data.good[s]]
        assert len(ids) == len(set(ids)), s
        assert all(eid == f"{s}-{line:06d}" for (line, _), eid in zip(data.good[s], ids))
        times = [ts_ms(rec["ts"]) for _, rec in data.good[s]]
        assert times == sorted(times), s
        assert START_MS <= times[0] and times[-1] < end_ms, s


def test_ts_mixes_iso_with_varied_offsets_and_epoch_ms(data):
    iso = epoch = 0
    offsets = collections.Counter()
    for s in STREAMS:
        for _, rec in data.good[s]:
            ts = rec["ts"]
            if isinstance(ts, int):
                epoch += 1
                continue
            iso += 1
            m = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d\d:\d\d)", ts)
            assert m, ts
            offsets[m.group(2)] += 1
    assert 0.63 < iso / (iso + epoch) < 0.77
    assert len([o for o in offsets if o not in ("Z", "+00:00")]) >= 6
    # the local offset is the person's real offset: web events of Paris persons are written
    # with "+02:00" before DST ends (2026-10-25T01:00Z) and with "+01:00" after.
    dst_end = 1792890000000
    paris = {a for g in data.truth if g["timezone"] == "Europe/Paris" for a in g["anonymous_ids"]}
    paris_ts = [(ts_ms(r["ts"]), r["ts"][-6:]) for _, r in data.good["web"]
                if r["anonymous_id"] in paris and isinstance(r["ts"], str)]
    assert any(t < dst_end and off == "+02:00" for t, off in paris_ts)
    assert any(t >= dst_end and off == "+01:00" for t, off in paris_ts)


def test_identifier_rules_of_good_records(data):
    for s, fields in IDENTIFIER_FIELDS.items():
        for line, rec in data.good[s]:
            present = [f for f in fields if rec[f] is not None]
            assert present, (s, line)
            if s == "consent":
                assert len(present) == 1, (line, rec)
            if rec.get("email") is not None:
                assert EMAIL_RE.match(rec["email"].strip()), (s, line)
    for line, rec in data.good["crm"]:
        if rec["timezone"] is not None:
            ZoneInfo(rec["timezone"])
    # raw variants: some emails with whitespace or mixed case, US phones in national format
    emails = [e for g in data.truth for e in g["emails"]]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    phones = [p for g in data.truth for p in g["phones"]]
    assert any(not p.startswith("+") for p in phones)
    assert any(p.startswith("+") for p in phones)


# ----------------------------------------------------------------------------- malformed lines

def test_malformed_lines_are_the_labelled_kind(data):
    assert data.expected
    for e in data.expected:
        s, line, kind = e["stream"], e["line"], e["kind"]
        assert kind in MALFORMED_KINDS[s], e
        raw = data.raw[s][line - 1]
        if kind == "invalid_json":
            with pytest.raises(ValueError):
                json.loads(raw)
            continue
        rec = json.loads(raw)
        if kind == "not_an_object":
            assert isinstance(rec, list), e
            continue
        assert isinstance(rec, dict), e
        schema_ok = validate(rec, data.schemas[s], raise_errors=False)
        if kind == "missing_field":
            assert set(rec) < set(data.field_names[s]) and not schema_ok, e
        elif kind == "wrong_type":
            assert set(rec) == set(data.field_names[s]) and not schema_ok, e
        elif kind == "unknown_type":
            field = "status" if s == "consent" else "type"
            assert not schema_ok and isinstance(rec[field], str), e
            assert rec[field] not in data.symbols[s][field], e
            fixed = dict(rec, **{field: data.symbols[s][field][0]})
            assert validate(fixed, data.schemas[s], raise_errors=False), e  # only the type was wrong
        elif kind == "bad_timestamp":
            assert schema_ok and isinstance(rec["ts"], str), e
            with pytest.raises((ValueError, TypeError)):
                ts_ms(rec["ts"])
        elif kind == "absurd_timestamp":
            assert schema_ok, e
            year = datetime.fromtimestamp(ts_ms(rec["ts"]) / 1000, timezone.utc).year
            assert year == 1970 or year >= 2200, e
        elif kind == "no_identifier":
            assert schema_ok and all(rec[f] is None for f in IDENTIFIER_FIELDS[s]), e
        elif kind == "invalid_email":
            assert schema_ok and not EMAIL_RE.match(rec["email"].strip()), e
            if s in IDENTIFIER_FIELDS:
                assert all(rec[f] is None for f in IDENTIFIER_FIELDS[s] if f != "email"), e
        elif kind == "invalid_timezone":
            assert schema_ok, e
            with pytest.raises(Exception):
                ZoneInfo(rec["timezone"])
        else:  # pragma: no cover
            pytest.fail(f"unknown kind {kind}")


def test_malformed_rate_positions_and_kinds(data, tmp_path):
    kinds = collections.Counter(e["kind"] for e in data.expected)
    assert set(kinds) == {k for ks in MALFORMED_KINDS.values() for k in ks}
    for s in STREAMS:
        n_good = len(data.good[s])
        n_bad = len(data.bad_lines[s])
        assert data.summary.records[s] == n_good and data.summary.malformed[s] == n_bad
        assert n_good + n_bad == len(data.raw[s])
        assert 1 <= n_bad <= max(1, round(n_good * 0.02)) + 1, s
        if n_good >= 1000:
            assert 0.015 < n_bad / n_good < 0.025, s
    # interleaved with the good lines, not appended
    web_lines = sorted(data.bad_lines["web"])
    half = len(data.raw["web"]) // 2
    assert web_lines[0] < half < web_lines[-1]
    assert set(data.bad_lines["web"].values()) == set(MALFORMED_KINDS["web"])
    # malformed_rate=0: no extra lines at all
    clean = tmp_path / "clean"
    summary = generate(40, 3, 1, clean, start=START, malformed_rate=0.0)
    assert summary.total_malformed == 0
    assert (clean / "malformed_expected.jsonl").read_text() == ""


# ----------------------------------------------------------------------------- ground truth

def test_ground_truth_covers_every_identifier(data):
    assert [g["person_id"] for g in data.truth] == [f"P{i:06d}" for i in range(1, N + 1)]
    unknown = collections.Counter()
    for s in STREAMS:
        for line, rec in data.good[s]:
            for f in ("email", "phone", "crm_id", "anonymous_id", "user_id"):
                v = rec.get(f)
                if v is None:
                    continue
                if v not in data.person and v not in data.shared_values:
                    unknown[(s, f)] += 1
    assert not unknown, unknown


def test_ground_truth_identifiers_are_disjoint_valid_and_consistent(data):
    owner: dict[tuple[str, str], str] = {}
    n_crm = 0
    for g in data.truth:
        assert g["timezone"] in REGION_TZ[g["region"]], g
        n_crm += g["crm_id"] is not None
        keys = {("email", norm_email(e)) for e in g["emails"]}
        keys |= {("phone", norm_phone(p)) for p in g["phones"]}
        keys |= {("anon", a) for a in g["anonymous_ids"]}
        if g["crm_id"]:
            keys.add(("crm", g["crm_id"]))
        for key in keys:
            assert owner.setdefault(key, g["person_id"]) == g["person_id"], (key, g["person_id"])
        assert len({norm_email(e) for e in g["emails"]}) <= 2
        for p in g["phones"]:
            num = phonenumbers.parse(p, "US")
            assert phonenumbers.is_valid_number(num), p
            assert phonenumbers.region_code_for_number(num) == g["region"], (p, g["region"])
            if g["region"] != "US":
                assert p.startswith("+"), p
    assert 0.78 < n_crm / N < 0.92  # ~15 % never get a crm_id
    for s in data.shared:
        key = ("phone", norm_phone(s["value"])) if s["kind"] == "phone" else ("anon", s["value"])
        assert key not in owner, s  # shared values belong to nobody
        assert len(s["person_ids"]) >= 2


def test_shared_device_and_agent_phone_exceed_over_merge_cap(data):
    logins = collections.defaultdict(set)
    for _, rec in data.good["web"]:
        if rec["type"] == "login" and rec["anonymous_id"] in data.shared_values:
            logins[rec["anonymous_id"]].add(data.person[rec["user_id"]])
    shared_anon = {s["value"]: s for s in data.shared if s["kind"] == "anonymous_id"}
    assert max(len(v) for v in logins.values()) >= 12
    for anon, persons in logins.items():
        assert persons <= set(shared_anon[anon]["person_ids"])
    assert data.summary.shared_devices == len(shared_anon)

    ticket_persons = collections.defaultdict(set)
    for _, rec in data.good["support"]:
        if rec["phone"] in data.shared_values:
            who = data.person.get(rec["crm_id"]) or data.person.get(rec["email"])
            assert who is not None, rec
            ticket_persons[rec["phone"]].add(who)
    assert max(len(v) for v in ticket_persons.values()) >= 15


# ----------------------------------------------------------------------------- behaviour model

def test_behaviour_scenarios_are_present(data):
    crm_person = {g["crm_id"]: g["person_id"] for g in data.truth if g["crm_id"]}
    # browse-to-offer: the same product viewed 3+ times within 7 days
    views = collections.defaultdict(list)
    for _, rec in data.good["web"]:
        if rec["type"] == "product_view" and rec["anonymous_id"] in data.person:
            views[(data.person[rec["anonymous_id"]], rec["product_id"])].append(ts_ms(rec["ts"]))
    repeat = {p for (p, _), ts in views.items()
              if any(b - a <= 7 * 86_400_000 for a, b in zip(sorted(ts), sorted(ts)[2:]))}
    assert len(repeat) >= 10
    # logged-in add_to_cart, then an email-only order within the hour
    carts = collections.defaultdict(list)
    for _, rec in data.good["web"]:
        if rec["type"] == "add_to_cart" and rec["user_id"]:
            carts[crm_person[rec["user_id"]]].append(ts_ms(rec["ts"]))
    email_only = [rec for _, rec in data.good["orders"]
                  if rec["type"] == "order_placed" and rec["crm_id"] is None
                  and any(0 < ts_ms(rec["ts"]) - t <= 3_600_000 for t in carts[data.person[rec["email"]]])]
    assert email_only
    # carts are mostly abandoned
    n_carts = sum(1 for _, r in data.good["web"] if r["type"] == "add_to_cart")
    n_orders = sum(1 for _, r in data.good["orders"] if r["type"] == "order_placed")
    assert 0.2 < n_orders / n_carts < 0.6
    # cart while a ticket is open
    opened, resolved, who = {}, {}, {}
    for _, rec in data.good["support"]:
        tid = rec["ticket_id"]
        if rec["type"] == "ticket_opened":
            opened[tid] = ts_ms(rec["ts"])
            who[tid] = (data.person.get(rec["crm_id"]) or data.person.get(rec["email"])
                        or data.person.get(rec["phone"]))
        elif rec["type"] == "ticket_resolved":
            resolved[tid] = ts_ms(rec["ts"])
    open_cart = [p for p, ts in carts.items() for t in ts for tid in opened
                 if who[tid] == p and opened[tid] < t < resolved.get(tid, 1 << 62)]
    assert open_cart
    csats = [r["csat"] for _, r in data.good["support"] if r["type"] == "ticket_resolved" and r["csat"]]
    assert {1, 2} & set(csats) and {4, 5} & set(csats)
    # engagement history from before the orchestrator: no decision ids; some unsubscribes
    eng = [r for _, r in data.good["engagement"]]
    assert all(r["decision_id"] is None for r in eng)
    types = collections.Counter(r["type"] for r in eng)
    assert types["delivered"] > types["opened"] > types["clicked"] > 0 and types["unsubscribed"] > 0
    # consent revocations exist, but grants dominate
    status = collections.Counter(r["status"] for _, r in data.good["consent"])
    assert 0 < status["revoked"] < status["granted"] * 0.2
    # volume: ~40-60 events per person over 30 days
    total = sum(len(v) for v in data.good.values())
    assert 35 * N < total < 65 * N


def test_service_side_behaviours_at_their_rates(data):
    """The behaviors the default journeys' call and priority case react to (issue 20): failed payments that fail
    again 26-60 h later, after the dunning email and SMS (``REFAIL_RATE`` of failures), and repeat contacts while a
    high/critical ticket is open (``REPEAT_CONTACT_RATE`` of those tickets, cut short by resolutions)."""
    from journeyflow.tools.generator.activity import REFAIL_RATE, REPEAT_CONTACT_RATE

    fails = collections.defaultdict(list)
    for _, rec in data.good["orders"]:
        if rec["type"] == "payment_failed":
            fails[rec["order_id"]].append(ts_ms(rec["ts"]))
    again = [sorted(ts) for ts in fails.values() if len(ts) > 1]
    assert again and all(26 * 3_600_000 <= b - a <= 60 * 3_600_000 for a, b in again)
    assert 0.5 * REFAIL_RATE < len(again) / len(fails) < 1.5 * REFAIL_RATE, (len(again), len(fails))
    who, opened, closed, sev = {}, {}, {}, {}
    for _, rec in data.good["support"]:
        tid = rec["ticket_id"]
        if rec["type"] == "ticket_opened":
            opened[tid], sev[tid] = ts_ms(rec["ts"]), rec["severity"]
            who[tid] = (data.person.get(rec["crm_id"]) or data.person.get(rec["email"])
                        or data.person.get(rec["phone"]))
        elif rec["type"] == "ticket_resolved":
            closed[tid] = ts_ms(rec["ts"])
    high = [t for t in opened if sev[t] in ("high", "critical")]
    repeats = [t for t in high if any(o != t and who[o] == who[t] and sev[o] == sev[t]
                                      and opened[o] < opened[t] < closed.get(o, 1 << 62) for o in high)]
    assert repeats
    assert 0.3 * REPEAT_CONTACT_RATE < len(repeats) / len(high) < REPEAT_CONTACT_RATE, (len(repeats), len(high))


def test_crm_id_is_never_used_before_its_contact_exists(data):
    created = {r["crm_id"]: ts_ms(r["ts"]) for _, r in data.good["crm"] if r["type"] == "contact_created"}
    for s, f in (("web", "user_id"), ("orders", "crm_id"), ("support", "crm_id"),
                 ("engagement", "crm_id"), ("consent", "crm_id"), ("crm", "crm_id")):
        for line, rec in data.good[s]:
            if rec[f] is not None:
                assert ts_ms(rec["ts"]) >= created[rec[f]], (s, line)


def test_activity_follows_local_time(data):
    tz_of = {a: g["timezone"] for g in data.truth for a in g["anonymous_ids"]}
    hours = collections.Counter()
    for _, rec in data.good["web"]:
        tz = tz_of.get(rec["anonymous_id"])
        if tz:
            hours[datetime.fromtimestamp(ts_ms(rec["ts"]) / 1000, ZoneInfo(tz)).hour] += 1
    day = sum(hours[h] for h in range(7, 23))
    assert day / sum(hours.values()) > 0.8
    assert sum(hours[h] for h in range(0, 6)) > 0  # some late-night activity


def test_summary_and_progress(tmp_path, capsys):
    out = tmp_path / "small"
    summary = generate(60, 5, 3, out, start="2026-10-01T00:00:00Z", progress=True)
    err = capsys.readouterr().err
    assert "generate:" in err and "60/60" in err
    assert summary.out == out and summary.persons == 60
    for s in STREAMS:
        with open(out / f"{s}.jsonl", encoding="utf-8") as fh:
            assert sum(1 for _ in fh) == summary.records[s] + summary.malformed[s]
    assert summary.total_lines == summary.total_records + summary.total_malformed
    with pytest.raises(ValueError):
        generate(0, 5, 3, tmp_path / "bad")
