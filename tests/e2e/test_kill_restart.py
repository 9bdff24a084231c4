"""SIGKILL and restart on the real Pub/Sub emulator (issue 23.3): ``journeyflow stream`` is killed mid-stream (some
decisions out, others read and acknowledged but still held) and started again, by default (the local runner
rebuilds on start) and with an explicit ``--resume``.  Either way the decisions are the uninterrupted replay's: every
decision id and action of the replay comes out, and no decision id outside them (re-emitted decisions keep their ids:
consumers drop them by ``decision_id``).  The scenario has an identity merge: an anonymous cart, then the login that
identifies it, then a cart under the identified customer; before issue 23 the restart keyed the re-read anonymous
cart under the surviving id and sent an email the replay never sends.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from journeyflow.pipelines.replay import run_replay
from journeyflow.tools import pubsub as pt
from tests.beam.test_arrival_order import CART_NOW
from tests.e2e.test_streaming_e2e import PROJECT, collect
from tests.scenarios import Scenario, journeys_with_test_extras, read_topic

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

LEAD_S = 10  # event times start this far ahead of the wall clock (the local runner's watermark)
LATENESS_S = 3
U2_AT_S = 35  # U2's carts: this long after t0, well after the kill (first decisions out at about t0 + 10 s)


def scenario(t0: datetime) -> Scenario:
    s = Scenario()
    sec = timedelta(seconds=1)
    for i, u in enumerate(("U1", "U2")):
        s.add("crm", t0 + i * sec, crm_id=u, email=f"{u.lower()}@example.com", type="contact_created",
              lifecycle_stage="customer", timezone="UTC", owner_id="owner-01")
        s.add("consent", t0 + i * sec + 0.5 * sec, crm_id=u, channel="email", status="granted")
    s.add("web", t0 + 4 * sec, anonymous_id="dev-1", type="add_to_cart", product_id="SKU-1")  # anonymous
    s.add("web", t0 + 5 * sec, anonymous_id="dev-1", type="login", user_id="U1")  # identifies it
    s.add("web", t0 + 6 * sec, anonymous_id="dev-1", type="add_to_cart", product_id="SKU-2")  # U1's cart
    s.add("web", t0 + U2_AT_S * sec, user_id="U2", anonymous_id="dev-2", type="add_to_cart", product_id="SKU-3")
    s.add("web", t0 + (U2_AT_S + 2) * sec, user_id="U2", anonymous_id="dev-2", type="add_to_cart", product_id="SKU-4")
    return s


def _key(d: dict) -> tuple:
    return (d["decision_id"], d["customer_id"], d["action"], d["channel"], tuple(d["reason_codes"]))


def _start(args: list[str], log: Path) -> subprocess.Popen:
    cmd = [str(Path(sys.executable).parent / "journeyflow"), "stream", *args]
    return subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=dict(os.environ))


def _collect_until(prefix: str, seen: list[dict], done, timeout: float) -> None:
    """Collect the audit topic into ``seen`` until ``done(seen)`` or ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(seen):
        seen += collect("decisions-audit", prefix)


def _wait_reading(prefix: str, timeout: float) -> None:
    """Publish one record that is not JSON on ``in-web`` and wait for its dead letter: the pipeline is reading."""
    from google.cloud import pubsub_v1

    from journeyflow.adapters import pubsub_names as names

    publisher = pubsub_v1.PublisherClient()
    publisher.publish(names.input_topic(PROJECT, "web", prefix), b"warm-up, not json",
                      ts=str(int(time.time() * 1000))).result(30)
    dead: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not dead:
        dead += collect("dead-letter", prefix)
    assert dead, "the pipeline did not start reading"


def test_sigkill_and_a_default_restart_give_the_replay_decisions(pubsub_emulator, tmp_path):
    """The default restart (the local runner rebuilds on start); ``--resume``: test_kill_restart_resume.py (a file
    of its own so that the two runs, mostly waiting for event time, run on different test workers)."""
    kill_and_restart(pubsub_emulator, tmp_path, [])


def kill_and_restart(pubsub_emulator, tmp_path, restart_flags: list[str]) -> None:
    """Starts ``journeyflow stream``, publishes the scenario, SIGKILLs it between the two groups of decisions,
    restarts it with ``restart_flags`` and asserts the decisions are exactly the replay's (module doc)."""
    prefix = f"kr{len(restart_flags)}-"
    journeys = tmp_path / "journeys.yaml"
    journeys.write_text(journeys_with_test_extras() + CART_NOW)
    args = ["--project", PROJECT, "--topic_prefix", prefix, "--journeys", str(journeys),
            "--identity_store", f"sqlite:///{tmp_path / 'identity.db'}", "--allowed_lateness", f"{LATENESS_S}s"]
    log = tmp_path / "stream.log"
    seen: list[dict] = []
    pool = ThreadPoolExecutor(max_workers=1)
    with pubsub_emulator.patched_env():
        pt.create_topics(PROJECT, prefix=prefix)
        first = _start(args + ["--resume=false"], log)  # a first start on fresh topics
        try:
            _wait_reading(prefix, 240)
            # dated from now on: the first decisions (t0 + 4..6 s) come out, U2's carts (t0 + U2_AT_S) are held
            t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LEAD_S)
            sc = scenario(t0)
            inp = sc.write(tmp_path / "in")
            # the replay to compare with runs meanwhile (the streaming job is another process; this one waits)
            replay_run = pool.submit(run_replay, ["--input", str(inp), "--output", str(tmp_path / "replay"),
                                                  "--journeys", str(journeys)])
            published = sum(pt.publish_dir(PROJECT, inp, rate=None, prefix=prefix).counts.values())
            assert published == sc.n
            # killed once the anonymous cart's and U1's decisions are out; U2's carts are read, acknowledged, held
            _collect_until(prefix, seen, lambda s: {d["customer_id"] for d in s} >= {"anon:dev-1", "crm:U1"}, 150)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        before = list(seen)
        killed_at = datetime.now(timezone.utc)

        second = _start(args + ["--catch_up", "8s", *restart_flags], log)
        try:
            _collect_until(prefix, seen, lambda s: "crm:U2" in {d["customer_id"] for d in s}, 300)
            _collect_until(prefix, seen, lambda s: False, 8)  # anything extra would come out now
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(30)

    replay_run.result(timeout=300)
    pool.shutdown()
    replay = read_topic(tmp_path / "replay", "decisions-audit")
    expected = sorted(map(_key, replay))
    # the kill came between the two groups of decisions
    assert killed_at < t0 + timedelta(seconds=U2_AT_S + LATENESS_S), "killed after U2's carts were due"
    assert {d["customer_id"] for d in before} == {"anon:dev-1", "crm:U1"}, before
    # the anonymous cart is decided under the anonymous id (no consent: suppressed), U1's cart under U1
    assert ("anon:dev-1", "suppress") in {(k[1], k[2]) for k in expected}
    got = {_key(d) for d in seen}
    assert sorted(got) == expected, (log.read_text()[-3000:], sorted(got), expected)
