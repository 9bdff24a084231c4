"""Issue 19 (points 1-2): a replay of Segment-Spec files, written as a real source emits them, runs the default
journeys unchanged: an anonymous visitor browses, identifies with an email, adds a product to the cart and leaves
-> the cart reminder goes to the identified email; with an ``Order Completed`` -> none."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from journeyflow.pipelines.replay import run_replay
from tests.scenarios import T0, Scenario, read_topic
from tests.segment_source import SegmentSource

MIN = timedelta(minutes=1)


def shopper(order: bool, batch: bool = False) -> tuple[SegmentSource, Scenario]:
    """The analytics.js calls of one shopper, and the company's consent record for the email (sales messages need
    an explicit grant under the default policy; the consent system of record is journeyflow's consent stream)."""
    src = SegmentSource("0a7f3c2e-5b1d-4c8e-9f21-d3b6a1e0c9f4")
    src.page(T0, "Home")
    src.track(T0 + MIN, "Products Searched", query="running shoes")
    src.track(T0 + 2 * MIN, "Product Viewed", product_id="SKU-42", sku="RS-42", name="Runner", price=89.5)
    src.page(T0 + 3 * MIN, "Signup")
    src.identify(T0 + 4 * MIN, "user-981", email="Ann.Lee@Example.com", firstName="Ann", plan="pro",
                 createdAt="2026-10-05T10:04:00Z")
    src.track(T0 + 5 * MIN, "Product Added", product_id="SKU-42", sku="RS-42", quantity=1, price=89.5,
              cart_id="c-1")
    src.track(T0 + 6 * MIN, "Checkout Started", order_id="o-77", value=89.5, currency="EUR",
              products=[{"product_id": "SKU-42", "quantity": 1, "price": 89.5}])
    if order:
        src.track(T0 + 20 * MIN, "Order Completed", order_id="o-77", total=94.4, revenue=89.5, currency="EUR",
                  products=[{"product_id": "SKU-42", "sku": "RS-42", "quantity": 1, "price": 89.5}])
    consent = Scenario()
    consent.add("consent", T0 - timedelta(days=2), email="ann.lee@example.com", channel="email", status="granted")
    return src, consent


def replay(tmp_path, order: bool, batch: bool = False):
    src, consent = shopper(order)
    inp = consent.write(tmp_path / "in")
    src.write(inp, batch_from=4 if batch else None)
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out), "--until", "end"])
    return summary, out, len(src.messages) + consent.n


@pytest.mark.parametrize("batch", [False, True], ids=["lines", "batch-envelope"])
def test_cart_reminder_goes_to_the_identified_email(tmp_path, batch):
    summary, out, n = replay(tmp_path, order=False, batch=batch)
    assert summary.records_read == n and summary.reconciles
    assert sum(summary.dead_letters.values()) == 0
    emails = read_topic(out, "decisions-email")
    reminders = [d for d in emails if d["journey_id"] == "cart_abandonment"]
    assert [(d["content_id"], d["address"]) for d in reminders] == [("cart_reminder_1", "ann.lee@example.com")]
    # one hour after the Product Added call's event time: its skew-corrected timestamp (the device clock ran 3
    # minutes fast; Segment's `timestamp` = receivedAt - (sentAt - originalTimestamp) is 40 ms after the call)
    added = int((T0 + 5 * MIN).timestamp() * 1000) + 40
    assert reminders[0]["decided_at"] == added + 3_600_000
    # one customer: the anonymous browsing, the identify and the cart are one profile (keyed by the user id)
    assert {d["customer_id"] for d in read_topic(out, "decisions-audit")} == {"crm:user-981"}


def test_an_order_completed_cancels_the_cart_reminder(tmp_path):
    summary, out, n = replay(tmp_path, order=True)
    assert summary.records_read == n and summary.reconciles and sum(summary.dead_letters.values()) == 0
    audit = read_topic(out, "decisions-audit")
    assert not [d for d in read_topic(out, "decisions-email") if d["journey_id"] == "cart_abandonment"]
    # the order (mapped to orders/order_placed with its products) entered the post-purchase journeys instead
    assert any(c["journey_id"] in ("cross_sell", "winback") for d in audit for c in d["candidates"]) or \
        any(d["journey_id"] in ("cross_sell", "winback") for d in audit)


def test_bad_segment_messages_are_dead_letters_and_accounted_for(tmp_path):
    src, consent = shopper(order=False)
    inp = consent.write(tmp_path / "in")
    src.write(inp)
    bad = [{"messageId": "x1", "anonymousId": "a", "timestamp": "2026-10-05T10:00:00Z"},  # no type
           {"type": "launch", "messageId": "x2", "anonymousId": "a", "timestamp": "2026-10-05T10:00:00Z"},
           {"type": "track", "messageId": "x3", "timestamp": "2026-10-05T10:00:00Z", "event": "E"},  # nobody
           {"type": "track", "messageId": "x4", "anonymousId": "a", "timestamp": "2026-10-05T10:00:00Z"},
           {"type": "track", "messageId": "x5", "anonymousId": "a", "event": "E", "timestamp": "yesterday"},
           {"type": "track", "messageId": "x6", "anonymousId": "a", "event": ["E"],  # an event name that is no text
            "timestamp": "2026-10-05T10:00:00Z"},
           {"type": "track", "messageId": "x7", "anonymousId": "a", "event": "E", "timestamp": "2026-10-05T10:00:00Z",
            "properties": {"blob": "x" * 33_000}}]
    with open(inp / "track.jsonl", "a") as f:
        f.write(json.dumps({"batch": bad[:3]}) + "\n")
        for m in bad[3:]:
            f.write(json.dumps(m) + "\n")
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out), "--until", "end"])
    assert summary.records_read == len(src.messages) + consent.n + len(bad) and summary.reconciles
    dead = read_topic(out, "dead-letter")
    assert sorted((d["reason"], d["source"].rsplit("/", 1)[-1]) for d in dead) == sorted([
        ("unknown_type", "track.jsonl:8#1"), ("unknown_type", "track.jsonl:8#2"),
        ("missing_identifier", "track.jsonl:8#3"), ("schema_violation", "track.jsonl:9"),
        ("bad_timestamp", "track.jsonl:10"), ("schema_violation", "track.jsonl:11"),
        ("payload_too_large", "track.jsonl:12")])
    assert all(d["stream"] == "track" for d in dead)


def test_segment_mapping_option_is_validated_at_launch_and_travels_as_text(tmp_path):
    from journeyflow.config.errors import UserError
    from journeyflow.pipelines.replay import ReplayJob
    from journeyflow.pipelines.stream import stream_parse_config
    from journeyflow.pipelines.options import JourneyflowOptions
    from apache_beam.options.pipeline_options import PipelineOptions

    good = tmp_path / "mapping.yaml"
    good.write_text("version: 1\nevents:\n  Bag Updated:\n    stream: web\n    type: add_to_cart\n")
    job = ReplayJob.from_argv(["--input", "in", "--output", "out", "--segment_mapping", str(good)])
    assert (job.parse_config.segment_mapping, job.parse_config.segment_mapping_source) == (good.read_text(), str(good))
    jf = PipelineOptions(["--segment_mapping", str(good)]).view_as(JourneyflowOptions)
    assert stream_parse_config(jf).segment_mapping == good.read_text()
    assert ReplayJob.from_argv(["--input", "in", "--output", "out"]).parse_config.segment_mapping is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nevents:\n  Bag Updated:\n    stream: web\n    type: add_to_bag\n")
    with pytest.raises(UserError) as e:
        ReplayJob.from_argv(["--input", "in", "--output", "out", "--segment_mapping", str(bad)])
    assert str(e.value).startswith(f'{bad}:5: events["Bag Updated"].type: \'add_to_bag\' is not a web event type')
