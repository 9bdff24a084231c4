"""No input message can stop reading (issue 23, point 1), on the real Pub/Sub emulator with ``journeyflow stream``.

Bad ``ts`` attributes ("abc", "", "1e12", 25 nines, negative, 50 years ahead, missing), an attribute that is not the
payload's time, and messages of 5 MB and 9.9 MB (Pub/Sub's limit is 10 MB; journeyflow's record limit 1 MiB) are
published on ``in-web`` next to two good carts, *before* the pipeline starts, so that they are pulled together; one
"abc" message with a valid payload goes to every other input subscription.  Checked:

(a) the good messages are decided, exactly as the bounded replay of the good messages alone decides them;
(b) every bad message is exactly one dead letter, with its reason, its attributes and its (truncated) payload
    (the ``dead_letters_<reason>`` counters are checked in tests/beam/test_parse_messages.py: this runner's
    metrics lose increments of concurrently evaluated bundles, 9 of 15 were seen here);
(c) nothing is redelivered: the input subscriptions' ack deadline is lowered to 10 s, and after the run every one
    of them is empty once that deadline has passed (the local reader used to raise before acknowledging, so the
    whole pull came back every deadline, forever).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.adapters.pubsub_names import input_subscription, input_topic
from journeyflow.model.events import STREAMS
from journeyflow.model.reasons import DeadLetterReason as R
from journeyflow.pipelines.replay import run_replay
from journeyflow.stages.parse import MAX_PAYLOAD_IN_DEAD_LETTER
from journeyflow.tools import pubsub as pt
from journeyflow.tools.direct_runner import subscriber_client
from tests.e2e.test_streaming_e2e import PROJECT, collect
from tests.scenarios import Scenario, journeys_with_test_extras, read_topic

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

PREFIX = "bad-"
LEAD_S = 20
LATENESS_S = 3
ACK_DEADLINE_S = 10  # Pub/Sub's minimum: an unacknowledged message comes back after it

#: A test journey that decides on a cart at once (the default cart journey waits an hour).
CART_NOW = """
  - id: cart_now
    name: Cart reminder at once (test)
    category: marketing
    priority: 360
    entry: {event: add_to_cart, stream: web}
    reentry: {mode: always}
    steps:
      - id: cart_email
        send: {channel: email, content_id: cart_now}
"""

#: A valid payload per input stream (for the "abc" attribute on every subscription).
VALID = {
    "web": {"anonymous_id": "dev-bad", "type": "add_to_cart", "product_id": "SKU-9"},
    "orders": {"crm_id": "X1", "order_id": "O-9", "type": "order_placed", "product_ids": ["SKU-9"], "amount": 1.0,
               "currency": "EUR"},
    "support": {"crm_id": "X1", "ticket_id": "T-9", "type": "ticket_opened", "severity": "low"},
    "crm": {"crm_id": "X1", "type": "contact_created", "lifecycle_stage": "lead"},
    "engagement": {"crm_id": "X1", "channel": "email", "type": "opened"},
    "consent": {"crm_id": "X1", "channel": "email", "status": "granted"},
}


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _good(t0: datetime) -> Scenario:
    s = Scenario()
    for i, cid in enumerate(("C1", "C2")):
        s.contact(timedelta(0), cid, email=f"{cid.lower()}@example.com")
    # contact() dates relative to tests.scenarios.T0: re-date every record to t0
    for recs in s.records.values():
        for r in recs:
            r["ts"] = t0.isoformat()
    s.add("web", t0 + timedelta(seconds=5), anonymous_id="dev-1", user_id="C1", type="add_to_cart", product_id="SKU-1")
    s.add("web", t0 + timedelta(seconds=6), anonymous_id="dev-2", user_id="C2", type="add_to_cart", product_id="SKU-2")
    return s


def _bad_messages(t0: datetime) -> list[tuple[str, bytes, dict[str, str], str]]:
    """(stream, data, attributes, expected reason) of every bad message."""
    t = _ms(t0) + 5_000

    def cart(n: int, ts: int = t, **extra) -> bytes:
        return json.dumps({"event_id": f"bad-{n}", "ts": ts, "anonymous_id": f"dev-bad-{n}", "type": "add_to_cart",
                           "product_id": "SKU-1", **extra}).encode()

    fifty_years = 50 * 365 * 86_400_000
    out = [
        ("web", cart(1), {"ts": "abc"}, R.BAD_TS_ATTRIBUTE),
        ("web", cart(2), {"ts": ""}, R.BAD_TS_ATTRIBUTE),
        ("web", cart(3), {"ts": "1e12"}, R.BAD_TS_ATTRIBUTE),
        ("web", cart(4), {"ts": "9" * 25}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
        ("web", cart(5), {"ts": "-5"}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
        ("web", cart(6), {"ts": str(t + fifty_years)}, R.TS_ATTRIBUTE_OUT_OF_RANGE),
        ("web", cart(7), {"stream": "web"}, R.MISSING_TS_ATTRIBUTE),
        ("web", cart(8), {"ts": str(t + 5_000)}, R.TS_MISMATCH),
        ("web", cart(9, pad="x" * 5_000_000), {"ts": str(t)}, R.PAYLOAD_TOO_LARGE),
        ("web", cart(10, pad="y" * 9_900_000), {"ts": str(t)}, R.PAYLOAD_TOO_LARGE),
    ]
    for stream in STREAMS:
        if stream == "web":
            continue
        payload = {"event_id": f"bad-{stream}", "ts": t, **VALID.get(stream, {})}
        # a stream this test does not know (added later) still gets its message: whatever its payload's reason,
        # it must come out as a dead letter of that stream
        out.append((stream, json.dumps(payload).encode(), {"ts": "abc"}, R.BAD_TS_ATTRIBUTE if stream in VALID else ""))
    return out


def _pending(sub, path: str) -> int:
    """Messages a pull of ``path`` gets now (0 when the emulator holds the pull open until the timeout)."""
    from google.api_core.exceptions import DeadlineExceeded

    try:
        return len(sub.pull(subscription=path, max_messages=100, timeout=3).received_messages)
    except DeadlineExceeded:
        return 0


def _decision_key(d: dict) -> tuple:
    return (d["decision_id"], d["customer_id"], d["action"], d["channel"], tuple(d["reason_codes"]))


def test_bad_messages_are_dead_letters_and_never_block_the_good_ones(pubsub_emulator, tmp_path):
    from google.cloud import pubsub_v1
    from journeyflow.pipelines.stream import run_stream

    journeys = tmp_path / "journeys.yaml"
    journeys.write_text(journeys_with_test_extras().rstrip() + "\n" + CART_NOW)
    t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LEAD_S)
    good = _good(t0)
    inp = good.write(tmp_path / "in")
    out = tmp_path / "replay"
    run_replay(["--input", str(inp), "--output", str(out), "--journeys", str(journeys)])
    expected = sorted(map(_decision_key, read_topic(out, "decisions-audit")))
    # one decision per cart (a send, or a quiet-hours deferral depending on the time of day the test runs)
    assert sorted(d[1] for d in expected) == ["crm:C1", "crm:C2"]
    bad = _bad_messages(t0)

    with pubsub_emulator.patched_env():
        pt.create_topics(PROJECT, prefix=PREFIX)
        sub = subscriber_client()
        subs = [input_subscription(PROJECT, s, PREFIX) for s in STREAMS]
        for path in subs:
            sub.update_subscription(request={"subscription": {"name": path, "ack_deadline_seconds": ACK_DEADLINE_S},
                                             "update_mask": {"paths": ["ack_deadline_seconds"]}})
        # facts first (identity links apply in arrival order), then the carts and the bad messages, all before the
        # pipeline starts: the first pull of in-web takes the good and the bad messages together
        facts, carts = tmp_path / "facts", tmp_path / "carts"
        for d, streams in ((facts, ("crm", "consent")), (carts, ("web",))):
            d.mkdir()
            for stream in streams:
                (d / f"{stream}.jsonl").write_text((inp / f"{stream}.jsonl").read_text())
        assert sum(pt.publish_dir(PROJECT, facts, rate=None, prefix=PREFIX).counts.values()) == 4
        publisher = pubsub_v1.PublisherClient()
        expected_reason = {}
        for stream, data, attrs, reason in bad:
            mid = publisher.publish(input_topic(PROJECT, stream, PREFIX), data, **attrs).result(timeout=60)
            expected_reason[f"pubsub:{mid}"] = (stream, str(reason), attrs)
        # Pub/Sub refuses anything over 10 MB at the publisher: such a message never reaches a subscription
        with pytest.raises(Exception, match="too large"):
            publisher.publish(input_topic(PROJECT, "web", PREFIX), b"z" * 10_500_000, ts=str(_ms(t0))).result(60)
        assert sum(pt.publish_dir(PROJECT, carts, rate=None, prefix=PREFIX).counts.values()) == 2

        result = run_stream(["--project", PROJECT, "--topic_prefix", PREFIX, "--journeys", str(journeys),
                             "--identity_store", f"sqlite:///{tmp_path / 'identity.db'}",
                             "--allowed_lateness", f"{LATENESS_S}s"], wait=False)
        try:
            deadline = t0 + timedelta(seconds=6 + LATENESS_S + 12)
            while datetime.now(timezone.utc) < deadline:
                time.sleep(1)
            audit = collect("decisions-audit", PREFIX)
            dead = pt.consume(PROJECT, "dead-letter", prefix=PREFIX, timeout=4)
        finally:
            result.cancel()

        # (c) nothing left unacknowledged: after the ack deadline, every input subscription is empty
        time.sleep(ACK_DEADLINE_S + 2)
        leftover = {path: _pending(sub, path) for path in subs}
        sub.close()

    # (a) the good carts are decided, as the replay of the good messages alone decides them
    assert sorted(map(_decision_key, audit)) == expected
    # (b) one dead letter per bad message, with its reason, attributes and bounded payload
    got = {}
    for m in dead:
        d = m["data"]
        assert d["source"] not in got, f"dead letter repeated: {d['source']}"
        got[d["source"]] = d
    assert set(got) == set(expected_reason)
    for source, (stream, reason, attrs) in expected_reason.items():
        d = got[source]
        assert d["stream"] == stream
        if reason:
            assert d["reason"] == reason, (source, attrs, d["detail"])
        assert json.loads(d["attributes"]).get("ts") == attrs.get("ts")
        assert 0 < len(d["payload"]) <= MAX_PAYLOAD_IN_DEAD_LETTER
    assert leftover == {path: 0 for path in subs}
