"""Arrival order of an identity link and the event it identifies (issue 23.4) on the real Pub/Sub emulator, with the
streaming pipeline on the local runner (``run_stream``, ``--allowed_lateness 3s``): the scenario of
tests/beam/test_arrival_order.py.  Four customers in one run, one per ordering: an anonymous cart and the login
that identifies it, one second apart in event time (the cart first, or the login), published in event-time order
just after their event times or in the opposite order 0.7 s apart (inside the allowed lateness; the local runner's
watermark follows the wall clock, so the second message of a reversed pair arrives 1.8 s behind its event time).
The decisions on the audit topic -- ids, customers, actions, channels, reasons -- are the bounded replay's of the
same records: the cart's ``cart_now`` email is sent to the identified customer when the login came first, and
nothing is proposed under the anonymous id (no consent, no address) when the cart came first, whatever the arrival
order.  Quiet hours are off in the policy (the test runs at any hour; the journey is marketing).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.pipelines.replay import run_replay
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser, parse_ts
from journeyflow.tools import pubsub as pt
from tests.beam.test_arrival_order import CART_NOW
from tests.e2e.test_kill_restart import _collect_until, _key, _wait_reading
from tests.e2e.test_streaming_e2e import PROJECT, collect_many
from tests.scenarios import Scenario, read_topic

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

LEAD_S = 3  # the first event time is this far ahead of the wall clock when the schedule is made
LATENESS_S = 3
#: (customer number, cart first in event time, reversed arrival): every ordering of tests/beam/test_arrival_order.py
ORDERINGS = [(1, True, False), (2, True, True), (3, False, False), (4, False, True)]


def config_files(tmp_path) -> tuple[list[str], EngineConfig]:
    """The default journeys plus ``cart_now`` and the default policy without quiet hours: the options for both
    pipelines and the same configuration in process (for the wait condition)."""
    journeys = default_text("journeys.yaml").rstrip() + "\n" + CART_NOW
    policy = default_text("policy.yaml")
    old = "quiet_hours:\n  enabled: true"
    assert old in policy
    policy = policy.replace(old, "quiet_hours:\n  enabled: false")
    (tmp_path / "journeys.yaml").write_text(journeys)
    (tmp_path / "policy.yaml").write_text(policy)
    config = EngineConfig(journeys, "<test journeys>", policy, "<test policy>")
    return ["--journeys", str(tmp_path / "journeys.yaml"), "--policy", str(tmp_path / "policy.yaml")], config


def schedule(base: datetime) -> tuple[Scenario, list[tuple[int, str, dict]]]:
    """The records of every ordering (as a scenario, for the replay) and when each is published: ``(epoch ms,
    stream, record)``.  Per customer: a CRM contact and its email consent, then the cart and the login 1 s apart."""
    sec = timedelta(seconds=1)
    sc = Scenario()
    plan: list[tuple[int, str, dict]] = []

    def add(stream: str, at: datetime, **fields) -> dict:
        sc.add(stream, at, **fields)
        return sc.records[stream][-1]

    def ms(rec: dict) -> int:
        return parse_ts(rec["ts"])

    for i, cart_first, reversed_arrival in ORDERINGS:
        u, dev = f"U{i}", f"dev-{i}"
        for rec, stream in ((add("crm", base, event_id=f"c{i}", crm_id=u, email=f"u{i}@example.com",
                                 type="contact_created", lifecycle_stage="customer", timezone="UTC"), "crm"),
                            (add("consent", base + 0.5 * sec, event_id=f"k{i}", crm_id=u, channel="email",
                                 status="granted"), "consent")):
            plan.append((ms(rec) + 100, stream, rec))
        cart_at, login_at = (base + 2 * sec, base + 3 * sec) if cart_first else (base + 3 * sec, base + 2 * sec)
        cart = add("web", cart_at, event_id=f"cart{i}", anonymous_id=dev, type="add_to_cart", product_id="SKU-1")
        login = add("web", login_at, event_id=f"login{i}", anonymous_id=dev, type="login", user_id=u)
        first, last = sorted((cart, login), key=ms)
        if reversed_arrival:  # the later event just after its time, the earlier one 0.7 s after that
            plan += [(ms(last) + 100, "web", last), (ms(last) + 800, "web", first)]
        else:
            plan += [(ms(first) + 100, "web", first), (ms(last) + 100, "web", last)]
    return sc, sorted(plan, key=lambda p: p[0])


def publish_on_schedule(prefix: str, plan: list[tuple[int, str, dict]]) -> int:
    """Publish each record to ``in-<stream>`` at its wall-clock time (records due together are published together),
    with the attributes ``journeyflow publish`` sets (``ts``: the payload's event time in epoch ms).  Returns the
    number of messages the emulator acknowledged.  Raises AssertionError if a publish comes 300 ms late or more:
    the orderings would not be the ones intended."""
    import json

    from google.cloud import pubsub_v1

    from journeyflow.adapters import pubsub_names as names

    publisher = pubsub_v1.PublisherClient()
    published = 0
    k = 0
    while k < len(plan):
        due = plan[k][0]
        while (now := time.time() * 1000) < due:
            time.sleep(min(0.05, (due - now) / 1000))
        assert now - due < 300, f"publish {k} is {now - due:.0f} ms late"
        futures = []
        while k < len(plan) and plan[k][0] == due:
            _, stream, rec = plan[k]
            futures.append(publisher.publish(names.input_topic(PROJECT, stream, prefix), json.dumps(rec).encode(),
                                             stream=stream, ts=str(parse_ts(rec["ts"])), event_id=rec["event_id"]))
            k += 1
        published += sum(1 for f in futures if f.result(30))
    return published


def bounded_ids(sc: Scenario, config: EngineConfig, until: int) -> set[str]:
    """The decision ids of the bounded path in process (the replay's per-cluster function) up to ``until``."""
    parser = Parser(Hasher.from_env())
    events = [parser.parse(stream, rec) for stream, recs in sc.records.items() for rec in recs]
    return {d.decision_id for _c, o in fold_clusters(resolve_clusters(events, config.link_rules()),
                                                    config.build_processor(), until) for d in o.decisions}


def test_link_and_event_in_either_arrival_order_stream_like_replay(pubsub_emulator, tmp_path):
    from journeyflow.pipelines.stream import run_stream

    prefix = "arr-"
    cfg, config = config_files(tmp_path)
    seen: list[dict] = []
    with pubsub_emulator.patched_env():
        pt.create_topics(PROJECT, prefix=prefix)
        result = run_stream(["--project", PROJECT, "--topic_prefix", prefix, *cfg,
                             "--identity_store", f"sqlite:///{tmp_path / 'identity.db'}",
                             "--allowed_lateness", f"{LATENESS_S}s", "--resume=false"], wait=False)  # fresh topics
        try:
            _wait_reading(prefix, 240)
            base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LEAD_S)
            sc, plan = schedule(base)
            until = int((base + timedelta(seconds=10)).timestamp() * 1000)  # past every event, before any timer
            expected_ids = bounded_ids(sc, config, until)
            assert publish_on_schedule(prefix, plan) == sc.n == 16
            _collect_until(prefix, seen, lambda s: expected_ids <= {d["decision_id"] for d in s}, 120)
            _collect_until(prefix, seen, lambda s: False, 6)  # anything extra would come out now
            emails, dead = collect_many(prefix, "decisions-email", "dead-letter")
        finally:
            result.cancel()

    inp = sc.write(tmp_path / "in")
    out = tmp_path / "replay"
    run_replay(["--input", str(inp), "--output", str(out), *cfg, "--until", str(until)])
    replay = read_topic(out, "decisions-audit")
    assert {d["decision_id"] for d in replay} == expected_ids
    assert sorted({_key(d) for d in seen}) == sorted(map(_key, replay))
    assert dead == []  # no late_event: every arrival was inside the lateness
    # the replay's cart decisions: the email to the identified customer when the login came first (customers 3
    # and 4), nothing under the anonymous id when the cart came first (customers 1 and 2)
    replay_carts = sorted((d["customer_id"], d["address"]) for d in read_topic(out, "decisions-email")
                          if d["journey_id"] == "cart_now")
    assert replay_carts == [("crm:U3", "u3@example.com"), ("crm:U4", "u4@example.com")]
    assert sorted((d["customer_id"], d["address"]) for d in emails if d["journey_id"] == "cart_now") == replay_carts
