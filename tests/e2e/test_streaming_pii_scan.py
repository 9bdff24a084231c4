"""Issue 23.2 and 23.5 on the real Pub/Sub emulator, in one streaming run:

* malformed messages on the internal state-transfer topic (no target, an unknown or no version, garbage) are
  dead-lettered with their reasons while the job keeps deciding;
* a PII scan of everything the run wrote — every topic including state-transfer (through a spy subscription),
  every dead letter and field warning, the log — and of every analyst table (the replay of the same input: the
  streaming tables go to BigQuery, built by the same row functions) finds no raw email address or phone number
  outside the ``address`` field of a send, although the input plants them everywhere they can appear: identifier
  fields, ``user_id``/``crm_id``/``anonymous_id``, event ids (plain, URL-encoded, bare digits), order/ticket/product
  ids, free text of dead-lettered records, bad optional fields, duplicate and late events.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pyarrow.parquet as pq
import pytest

from journeyflow.adapters.pubsub_names import state_transfer_topic
from journeyflow.pipelines.replay import run_replay
from journeyflow.tools import pubsub as pt
from tests.e2e.test_streaming_e2e import LEAD_S, PROJECT, scenario
from tests.scenarios import read_topic

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

PREFIX = "pii-"
LATENESS_S = 3
#: distinctive parts of every planted address (lower case): found anywhere but a send's address = a leak
EMAIL_NEEDLES = ["pii.crm.user", "pii.web.anon", "pii.login", "pii.order", "pii.sku", "pii.eng", "pii.bad.",
                 "pii.note", "pii.broken", "pii.fw", "pii.late", "pii.dup", "pii.badmail", "pii.tkt",
                 "sa@example.com", "sb@example.com", "sc@example.com"]
#: national digits of every planted phone number
PHONE_NEEDLES = ["6505550199", "2079460958", "4155550177", "4155550188", "4155550166", "4155550123", "4155550144",
                 "6505550111"]
SEND_TOPICS = ("decisions-email", "decisions-sms", "decisions-push")


def pii_scenario(t0: datetime):
    """The e2e scenario plus PII planted in every place a record can carry it; returns (scenario, late record)."""
    sc = scenario(t0)
    s = timedelta(seconds=1)
    sc.add("crm", t0 + 2.2 * s, event_id="crm-pii.crm.user@example.com-1", crm_id="Pii.Crm.User@Example.com",
           email="pii.crm.user@example.com", phone="+1 (650) 555-0111", type="contact_created",
           lifecycle_stage="lead", timezone="UTC", owner_id="owner pii.tkt@example.com")
    sc.add("consent", t0 + 2.4 * s, event_id="consent-+1 415 555 0123", phone="+1 415 555 0123", channel="sms",
           status="granted")
    # an anonymous visitor who gives an email, then logs in with an email as user_id (URL-encoded): the merge
    # hands the visitor's state (with its contact part) over through the state-transfer topic
    sc.add("web", t0 + 3 * s, event_id="web-pii.web.anon%40example.com-1", anonymous_id="dev-p",
           email="pii.web.anon@example.com", type="product_view", product_id="SKU-pii.sku@example.com")
    sc.add("web", t0 + 3.5 * s, event_id="web-4155550144", anonymous_id="dev-p", type="add_to_cart",
           product_id="SKU-9")
    sc.add("web", t0 + 4 * s, event_id="web-login-p", anonymous_id="dev-p", type="login",
           user_id="pii.login%40example.com")
    sc.add("orders", t0 + 6.5 * s, event_id="ord-6505550199", crm_id="+1 (650) 555-0199",
           email="pii.order@example.com", order_id="ORD-pii.order@example.com", type="order_placed",
           product_ids=["SKU-1", "sku-for-pii.sku@example.com"], amount=12.5, currency="EUR")
    sc.add("support", t0 + 7 * s, event_id="sup-pii-1", phone="+44 20 7946 0958", ticket_id="ticket 415.555.0177",
           type="ticket_opened", severity="low")
    sc.add("engagement", t0 + 7.5 * s, event_id="eng-pii.eng@example.com", email="pii.eng@example.com",
           channel="email", type="opened", decision_id="d-pii.eng&#64;example.com")
    # dead letters: an unknown type whose free text holds addresses in several spellings
    sc.add("web", t0 + 8 * s, event_id="web-bad-pii.bad.1@example.com", anonymous_id="pii.bad.2%40example.com",
           type="teleport", properties={"note": "call 4155550188 or mail pii.note&#64;example.com"})
    # field warnings: a bad optional email, a bad optional map holding an address
    sc.add("web", t0 + 8.5 * s, event_id="web-fw-1", anonymous_id="dev-q", email="pii.badmail@@example.com",
           type="page_view", properties={"nested": {"a": "pii.fw@example.com"}})
    # a duplicate: the same event id (holding an address) twice
    for _ in range(2):
        sc.add("web", t0 + 9 * s, event_id="dup-pii.dup@example.com", anonymous_id="dev-a", type="page_view")
    late = {"event_id": "late-pii.late@example.com", "ts": (t0 + 6 * s).isoformat(), "anonymous_id": "dev-a",
            "type": "page_view"}
    return sc, late


#: A record only the streaming run sees: broken JSON holding addresses (a dead letter with the raw text, masked).
BROKEN = '{"event_id": "broken-pii.broken@example.com", "phone": "%2B1 415 555 0166", "type": '


def leaks(text: str) -> list[str]:
    """The planted addresses found in ``text`` (also URL-decoded; phones with separators removed)."""
    found = []
    for variant in {text, unquote(unquote(text))}:
        low = variant.lower()
        digits = re.sub(r"(?<=\d)[\s().\-/]+(?=\d)", "", low)
        found += [n for n in EMAIL_NEEDLES if n in low]
        found += [n for n in PHONE_NEEDLES if n in digits]
    return sorted(set(found))


def _without_address(topic: str, data):
    if topic in SEND_TOPICS and isinstance(data, dict):
        return {k: v for k, v in data.items() if k != "address"}
    return data


@pytest.fixture(scope="module")
def run(pubsub_emulator, tmp_path_factory):
    """One streaming run over the PII scenario with malformed state transfers published first; everything it
    wrote, plus the replay of the same input."""
    from google.cloud import pubsub_v1

    from journeyflow.pipelines.stream import run_stream

    tmp = tmp_path_factory.mktemp("pii")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LEAD_S)
    sc, late = pii_scenario(t0)
    inp = sc.write(tmp / "in")
    facts, activity, extra = tmp / "facts", tmp / "activity", tmp / "extra"
    for d, streams in ((facts, ("crm", "consent")), (activity, ("web", "orders", "support", "engagement"))):
        d.mkdir()
        for stream in streams:
            (d / f"{stream}.jsonl").write_text((inp / f"{stream}.jsonl").read_text())
    extra.mkdir()
    (activity / "web.jsonl").write_text((inp / "web.jsonl").read_text() + BROKEN + "\n")
    (extra / "web.jsonl").write_text(json.dumps(late) + "\n")

    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    root, jf = logging.getLogger(), logging.getLogger("journeyflow")
    old_levels = root.level, jf.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    jf.setLevel(logging.DEBUG)
    got: dict[str, list] = {}
    try:
        with pubsub_emulator.patched_env():
            pt.create_topics(PROJECT, prefix=PREFIX)
            subscriber, publisher = pubsub_v1.SubscriberClient(), pubsub_v1.PublisherClient()
            transfer_topic = state_transfer_topic(PROJECT, PREFIX)
            spy = subscriber.subscription_path(PROJECT, f"{PREFIX}state-transfer-spy")
            subscriber.create_subscription(request={"name": spy, "topic": transfer_topic})
            result = run_stream(["--project", PROJECT, "--topic_prefix", PREFIX,
                                 "--identity_store", f"sqlite:///{tmp / 'identity.db'}",
                                 "--allowed_lateness", f"{LATENESS_S}s"], wait=False)
            try:
                ts = str(int(t0.timestamp() * 1000))
                bad = [(b"sealed?", {"v": "1", "ts": ts}),                           # no target (issue 23.2)
                       (b"sealed?", {"v": "1", "target": "", "ts": ts}),             # empty target
                       (b"x" * 64, {"v": "7", "target": "crm:SA", "ts": ts}),        # unknown version
                       (b"x" * 64, {"target": "crm:SA", "ts": ts}),                  # no version
                       (os.urandom(200), {"v": "1", "target": "crm:SA", "ts": ts})]  # garbage
                got["bad transfers"] = [{"data": d, "attributes": a} for d, a in bad]
                for data, attrs in bad:
                    publisher.publish(transfer_topic, data, **attrs).result(timeout=30)
                time.sleep(3)
                published = sum(pt.publish_dir(PROJECT, facts, rate=None, prefix=PREFIX).counts.values())
                time.sleep(3)
                published += sum(pt.publish_dir(PROJECT, activity, rate=None, prefix=PREFIX).counts.values())
                assert published >= sc.n
                deadline = t0 + timedelta(seconds=20 + LATENESS_S + 12)
                while datetime.now(timezone.utc) < deadline:
                    time.sleep(1)
                pt.publish_dir(PROJECT, extra, rate=None, prefix=PREFIX)  # far behind the horizon: late
                time.sleep(8)
                topics = ("decisions-audit", *SEND_TOPICS, "decisions-crm-task", "dead-letter", "field-warnings")
                with ThreadPoolExecutor(max_workers=len(topics)) as pool:  # each waits 4 idle seconds: at once
                    for topic, msgs in zip(topics, pool.map(
                            lambda t: pt.consume(PROJECT, t, prefix=PREFIX, timeout=4), topics)):
                        got[topic] = msgs
                pulled = subscriber.pull(request={"subscription": spy, "max_messages": 100}, timeout=30)
                got["state-transfer"] = [{"data": m.message.data, "attributes": dict(m.message.attributes)}
                                         for m in pulled.received_messages]
            finally:
                result.cancel()
                subscriber.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_levels[0])
        jf.setLevel(old_levels[1])
    out = tmp / "replay"
    run_replay(["--input", str(inp), "--output", str(out)])
    log_text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in records)
    planted = "".join(p.read_text() for p in sorted(inp.glob("*.jsonl"))) + BROKEN + json.dumps(late)
    return {"got": got, "replay": out, "log": log_text, "n_log": len(records), "planted": planted}


def _data(m):
    return m["data"] if isinstance(m["data"], (dict, list)) else m["data"]


def test_malformed_state_transfers_are_dead_letters_and_the_job_keeps_deciding(run):
    got, replay = run["got"], run["replay"]
    dead = [_data(m) for m in got["dead-letter"]]
    transfer_dead = sorted(d["reason"] for d in dead if d["stream"] == "_state_transfer")
    assert transfer_dead == ["transfer_missing_target", "transfer_missing_target", "transfer_undecodable",
                             "transfer_unknown_version", "transfer_unknown_version"]
    assert all(d["payload"] == "" for d in dead if d["stream"] == "_state_transfer")
    # published after the bad messages, decided as the replay decides them (the scenario's own customers)
    base = {"crm:SA", "crm:SB", "crm:SC"}
    audit = {d["decision_id"] for d in map(_data, got["decisions-audit"]) if d["customer_id"] in base}
    expected = {d["decision_id"] for d in read_topic(replay, "decisions-audit") if d["customer_id"] in base}
    assert len(expected) >= 4 and audit == expected
    # a real hand-over went through the topic: versioned, sealed, and applied (the visitor's cart was merged)
    mine = [m["data"] for m in got["bad transfers"]]
    real = [m for m in got["state-transfer"] if m["data"] not in mine]
    assert len(got["state-transfer"]) == len(real) + len(mine)
    # (a merge hands the absorbed state to the survivor; the survivor may be any customer id: email:, crm:, ...)
    assert real and all(m["attributes"]["v"] == "1"
                        and m["attributes"]["target"].split(":", 1)[0] in ("email", "crm", "phone", "anon")
                        for m in real)
    assert any(m["attributes"]["target"].startswith("email:") for m in real)  # the visitor's cart, merged


def test_no_raw_email_or_phone_anywhere_but_a_send_address(run):
    got, replay = run["got"], run["replay"]
    found: dict[str, list[str]] = {}
    for topic, msgs in got.items():
        for m in msgs:
            data = m["data"]
            text = data.decode("latin-1") if isinstance(data, bytes) else json.dumps(_without_address(topic, data))
            hit = leaks(text + json.dumps(m["attributes"]))
            if hit:
                found.setdefault(f"topic {topic}", []).extend(hit)
    for path in sorted((replay / "topics").glob("*.jsonl")):
        topic = path.stem
        for line in path.read_text().splitlines():
            hit = leaks(json.dumps(_without_address(topic, json.loads(line))))
            if hit:
                found.setdefault(f"replay topic {topic}", []).extend(hit)
    tables = sorted((replay / "tables").rglob("*.parquet"))
    assert {p.relative_to(replay / "tables").parts[0] for p in tables} >= {
        "decisions", "suppressed_candidates", "journey_steps", "customer_snapshots", "identity_links",
        "dead_letter", "field_warnings"}
    for path in tables:
        hit = leaks(json.dumps(pq.read_table(path).to_pylist(), default=str))
        if hit:
            found.setdefault(f"table {path.relative_to(replay)}", []).extend(hit)
    # the scan finds every planted value in the input (so it could fail on an output)
    assert leaks(run["planted"]) == sorted(set(EMAIL_NEEDLES + PHONE_NEEDLES))
    hit = leaks(run["log"])
    if hit:
        found["log"] = hit
    assert found == {}
    # the scan looked at what the planted records produced (so it could have failed)
    dead = [_data(m) for m in got["dead-letter"]]
    reasons = {d["reason"] for d in dead}
    assert {"duplicate_event", "late_event", "unknown_type", "invalid_json"} <= reasons, reasons
    warnings = [_data(m) for m in got["field-warnings"]]
    assert {(w["field"], w["reason"]) for w in warnings} >= {("email", "invalid_identifier")}
    sends = [_data(m) for t in SEND_TOPICS for m in got[t]]
    assert sends and all(leaks(d["address"]) for d in sends if d.get("address"))  # addresses are the allowed place
    assert run["n_log"] > 0


def test_ids_that_are_addresses_become_hashed_identifier_keys(run):
    ids = {d["customer_id"] for d in read_topic(run["replay"], "decisions-audit")}
    ids |= {r["customer_id"] for p in (run["replay"] / "tables" / "customer_snapshots").rglob("*.parquet")
            for r in pq.read_table(p).to_pylist()}
    assert not [i for i in ids if i.startswith("crm:") and ("@" in i or "%40" in i or "+" in i)]
    assert any(i.startswith("email:") for i in ids)
