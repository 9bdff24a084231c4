"""The streaming per-customer DoFn under TestStream: out-of-order arrival, timers, late data — and the same
decisions as the bounded fold for the same events."""
from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import CustomerState
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered

MIN = 60_000
HOUR = 60 * MIN
T = parse_ts("2026-10-05T10:00:00+00:00")
CONFIG = EngineConfig.from_files()


def e(uid, stream, type_, ts, cid="crm:C1", **attrs):
    return Event(uid, stream, type_, ts, (cid,), attrs, {"email": "c1@example.com"})


def history(cid="crm:C1", ordered_at: int | None = 40 * MIN) -> list[Event]:
    evs = [
        e(f"crm/{cid}-1", "crm", "contact_created", T - 10 * 24 * HOUR, cid, timezone="UTC"),
        e(f"consent/{cid}-1", "consent", "consent_granted", T - 10 * 24 * HOUR + 1, cid, channel="email",
          status="granted"),
        e(f"consent/{cid}-2", "consent", "consent_granted", T - 10 * 24 * HOUR + 2, cid, channel="sms",
          status="granted"),
        e(f"web/{cid}-1", "web", "add_to_cart", T, cid, product_id="SKU-1"),
    ]
    if ordered_at is not None:
        evs.append(e(f"orders/{cid}-1", "orders", "order_placed", T + ordered_at, cid, order_id="O1",
                     product_ids=["SKU-1"]))
    evs.append(e(f"web/{cid}-2", "web", "page_view", T + 5 * HOUR, cid))
    return evs


def bounded(events: list[Event]) -> list[str]:
    fold = ClusterFold(CONFIG.build_processor())
    out = fold.run([(ev, ()) for ev in sorted(events, key=lambda x: x.sort_key)], END_OF_TIME)
    return sorted(d.decision_id for d in out.decisions)


def settle(ts: TestStream, last: int) -> TestStream:
    """Let event time run on for 40 days before the end of the stream.  A watermark that jumps straight to +inf
    expires the global window: a timer re-armed in that last firing would never fire (as on a Dataflow drain)."""
    for days in (1, 5, 40):
        ts = ts.advance_watermark_to((last + days * 24 * HOUR) / 1000)
    return ts.advance_watermark_to_infinity()


def run_stream(events: list[Event], seed: int, jitter_ms: int = 3 * HOUR, late: list[Event] = ()):
    """Arrival out of order (each event delayed by up to `jitter_ms`, then sorted by arrival), in chunks of two;
    after each chunk the watermark moves to just before the earliest event still to come, so disorder stays
    within the watermark, as a Pub/Sub source's estimate promises.  `late` events arrive after everything, once
    the watermark has passed them."""
    rng = random.Random(seed)
    arrival = sorted(events, key=lambda ev: (ev.ts + rng.randint(0, jitter_ms), ev.uid))
    ts = TestStream()
    wm = None
    for i in range(0, len(arrival), 2):
        chunk = arrival[i:i + 2]
        ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in chunk])
        rest = arrival[i + 2:]
        if rest:
            nxt = min(ev.ts for ev in rest) - 1
            if wm is None or nxt > wm:  # the watermark must strictly advance
                wm = nxt
                ts = ts.advance_watermark_to(wm / 1000)
    if late:
        ts = ts.advance_watermark_to((max(ev.ts for ev in events) + 2 * HOUR) / 1000)
        ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in late])
    ts = settle(ts, max(ev.ts for ev in events))
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    return ts, opts


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_out_of_order_arrival_gives_the_bounded_decisions(seed):
    events = history("crm:C1") + history("crm:C2", ordered_at=None)
    expected = bounded(events)
    ts, opts = run_stream(events, seed)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(expected))


def test_cart_order_within_the_hour_gives_no_reminder_in_any_arrival_order():
    events = history("crm:C1")
    for seed in range(3):
        ts, opts = run_stream(events, seed)
        with TestPipeline(options=opts) as p:
            out = p | ts | DecideOrdered(CONFIG)
            assert_that(out[ss.DECISIONS] | beam.Filter(lambda d: d.journey_id == "cart_abandonment")
                        | beam.Map(lambda d: d.step_id), equal_to([]))


def test_timer_driven_reminder_fires_at_plus_one_hour():
    events = history("crm:C2", ordered_at=None)
    ts, opts = run_stream(events, 0)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        reminders = (out[ss.DECISIONS]
                     | beam.Filter(lambda d: d.step_id == "reminder_email")
                     | beam.Map(lambda d: (d.decided_at, d.action in ("send", "none"))))
        assert_that(reminders, equal_to([(T + HOUR, True)]))


def test_late_events_go_to_dead_letter_with_a_reason():
    events = history("crm:C1")
    late = [e("web/late-1", "web", "page_view", T + 30 * MIN, "crm:C1")]
    ts, opts = run_stream(events, 0, late=late)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        assert_that(out[ss.DEAD] | beam.Map(lambda d: (d.source, d.reason)),
                    equal_to([("web/late-1", "late_event")]), label="late")
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(bounded(events)),
                    label="decisions")


def test_allowed_lateness_reorders_events_that_arrive_behind_the_watermark():
    # the order arrives after the watermark passed its time, but within the allowed lateness: still in order
    events = history("crm:C1")
    order = [ev for ev in events if ev.stream == "orders"]
    rest = [ev for ev in events if ev.stream != "orders"]
    ts = TestStream()
    ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in rest if ev.ts <= T])
    ts = ts.advance_watermark_to((T + 45 * MIN) / 1000)
    ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in order])
    ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in rest if ev.ts > T])
    ts = settle(ts, max(ev.ts for ev in events))
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG, allowed_lateness_ms=30 * MIN)
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(bounded(events)),
                    label="decisions")
        assert_that(out[ss.DEAD], equal_to([]), label="no_dead")


def test_a_late_state_transfer_is_applied_not_dropped():
    """An identity hand-over (absorb) that arrives behind the customer's horizon still merges the state."""
    import base64

    from journeyflow.stages.identity.online import IDENTITY_STREAM
    from journeyflow.stages.state import CustomerState

    other = CustomerState(customer_id="anon:d1", ids=["anon:d1"])
    other.consent = {"sms": ["revoked", T - HOUR]}
    absorb = Event("absorb:anon:d1:x", IDENTITY_STREAM, "absorb", T - 30 * MIN, ("crm:C1",),
                   {"state": base64.b64encode(other.to_bytes()).decode(), "from": "anon:d1"}, {})
    events = history("crm:C1", ordered_at=None)  # cart at T, no order: sms reminder due at T + 24 h
    ts = TestStream()
    ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in events])
    ts = ts.advance_watermark_to((T + 6 * HOUR) / 1000)
    # the hand-over arrives 6.5 h behind its link time, far beyond the allowed lateness
    ts = ts.add_elements([TimestampedValue(("crm:C1", absorb), absorb.ts / 1000)])
    ts = settle(ts, T + 6 * HOUR)
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        assert_that(out[ss.DEAD], equal_to([]), label="nothing_dead")
        sms = (out[ss.DECISIONS]
               | beam.FlatMap(lambda d: [(c.step_id, c.reason) for c in d.candidates if c.channel == "sms"]))
        assert_that(sms, equal_to([("reminder_sms", "consent")]), label="sms_blocked_by_absorbed_consent")


def test_snapshots_are_emitted_per_flush_only_when_asked():
    """With ``snapshots=True`` (the pipeline writes tables), every flush emits the customer's snapshot row at the
    flush horizon; the last one matches the bounded fold's final state of the same events."""
    events = history("crm:C1")
    ts, opts = run_stream(events, 0)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG, snapshots=True)

        def check(rows):
            assert len(rows) > 1 and {r["customer_id"] for r in rows} == {"crm:C1"}
            final = max(rows, key=lambda r: r["snapshot_at"])
            assert (final["last_event"], final["identifiers"], final["consent_sms"]) == \
                (max(ev.ts for ev in events), ["crm:C1"], "granted")

        assert_that(out[ss.SNAPSHOTS], check)
    ts, opts = run_stream(events, 0)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        assert_that(out[ss.SNAPSHOTS], equal_to([]))



def test_a_customer_back_after_a_year_gets_the_bounded_decisions():
    """Issue 23.6: streaming retires a dormant customer on its expiry timer, bounded replay lazily before its next
    event: a customer back after 400 days gets the same decisions either way."""
    returning = history("crm:C2", ordered_at=None)
    returning += [e("web/C2-back", "web", "add_to_cart", T + 400 * 24 * HOUR, "crm:C2", product_id="SKU-2")]
    ts, opts = run_stream(returning, 0)
    with TestPipeline(options=opts) as p:  # (a simulation: event time runs a year past the wall clock)
        out = p | ts | DecideOrdered(CONFIG, until_clock=False)
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(bounded(returning)))


def test_the_expiry_timer_clears_a_one_visit_customer_and_caps_bound_a_hot_one():
    """Issue 23.6 on the DoFn itself (its state cells, driven as a runner does): an expiry timer is pending after a
    single visit and clears every cell when it fires (before: 665 B kept forever, no timer); a customer with consent
    keeps only that; a hot customer's stored state does not grow within its day (before: 20k events, 194 KB)."""
    from journeyflow.tools.bench_state import CellDriver, hot_customer

    fn = ss.OrderedCustomerFn(CONFIG, allowed_lateness_ms=2000, until_clock=False)  # (event time past the clock)
    fn.setup()
    visit = CellDriver(fn, "anon:v1")
    visit.add([Event("web/v1", "web", "product_view", T, ("anon:v1",), {"product_id": "SKU-1"}, {})])
    visit.advance(T + 24 * HOUR)
    assert visit.stored_bytes() > 0 and visit.timer_pending()
    visit.advance(T + 179 * 24 * HOUR)
    assert visit.stored_bytes() > 0 and visit.timer_pending()  # not dormant yet (longest window: 180 days)
    visit.advance(T + 181 * 24 * HOUR)
    assert visit.stored_bytes() == 0 and not visit.timer_pending()

    known = CellDriver(fn, "crm:C1")
    known.add(history("crm:C1"))
    known.advance(T + 400 * 24 * HOUR)
    assert not known.timer_pending()
    kept = CustomerState.from_bytes(known.customer.value).to_dict()
    assert {"consent", "addresses"} <= set(kept) and "last_event" not in kept and "views" not in kept

    hot = CellDriver(fn, "anon:hot-1")
    events = hot_customer(6000, T)
    sizes = []
    for i in range(0, len(events), 100):
        hot.add(events[i:i + 100])
        hot.advance(events[i].ts + 2000 + ss.PAST)  # the watermark past the batch + its lateness: flushed
        sizes.append(hot.stored_bytes())
    # (<= 20,000 as in test_state_bounds: 200 views of distinct products kept since the QA of view counts, ~+3 KB)
    assert max(sizes) <= 16_384 and max(sizes[40:]) <= 1.2 * max(sizes[20:40]), sizes
