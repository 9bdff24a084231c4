"""``make bench`` section 3: streaming against the Pub/Sub emulator, journeyflow vs a trivial streaming pipeline.

Both pipelines run on the ``BundleBasedDirectRunner`` in this process, one after the other, against the same
emulator, and get the same messages at the same rates:

1. **steady**: ``STEADY_S`` seconds at ``RATE`` events/s.  Measured: sustained events/s over the steady-state window
   (the first ``WARM_S`` seconds left out) and event → output latency (time the consumer received the output −
   ``published_at_ms`` of the event that caused it);
2. **burst**: ``BURST_S`` seconds at ``BURST_RATE`` events/s, run only when the pipeline kept up with the steady
   phase.  ``BURST_RATE`` is more than either pipeline takes (at 1000/s the trivial one kept up: that figure was
   the offered rate, not its maximum), so a backlog builds; the rate at which the pipeline then reads that backlog
   (up to ``BACKLOG_S`` seconds after the publisher stopped, or until it is read) is its maximum sustained rate,
   measured by saturation (also after a steady phase it did not keep up with, whose backlog is read the same way).
   A pipeline that did not keep up with the steady phase is already saturated and the burst is skipped;
3. **probe** (journeyflow, only when it was saturated at ``RATE``): a fresh pipeline at half the rate it sustained,
   for ``PROBE_S`` seconds — its latency when it keeps up (at ``RATE`` the latency only measures the backlog);
   **or, when it kept up at ``RATE``**, a fresh pipeline at ``RATE`` for ``PROBE_S`` seconds with an allowed
   lateness of ``LOW_LATENESS_MS``: its latency, and how many events then arrived too late (``late_event`` dead
   letters, counted on the ``dead-letter`` topic like every run of journeyflow here).

The load is the generated population in event-time order with a latency marker as every ``MARKER_EVERY``-th
message (see :func:`bench_lines`: the population's own decisions are nearly all timer-driven).

journeyflow: the real pipeline (``run_stream``, ``--allowed_lateness 2s``, in-memory identity store); latency from
``decisions-audit``: a decision counts when its ``trigger_event_id`` is an event published here and its
``decided_at`` is that event's time (decisions of timers, and candidates deferred by quiet hours that keep their
trigger id, are left out).  The trivial pipeline: one subscription (``with_attributes=True,
timestamp_attribute="ts"``) → parse the JSON and key by the customer field → stateful DoFn with a ReadModifyWrite
counter → ``WriteToPubSub``; its outputs carry the event's ``published_at_ms``.

How "events/s" is measured.  Records read by the pipeline, counted where the runner pulls them
(``_PubSubReadEvaluator._read_from_pubsub`` is wrapped for the duration of the section; input subscriptions only,
not ``state-transfer``).  The runner's own counters cannot be used: on the BundleBasedDirectRunner a step's
``Metrics.counter`` stops moving after the step's first bundle (the worker thread's ``StateSampler`` caches the
step's ``ScopedState`` by name together with the *first* bundle's ``MetricsContainer``; later increments land in
that stale container, never committed), so ``result.metrics()`` reads e.g. 2 for a step that processed 3500.
The local runner has no back-pressure between sources and downstream steps, but it runs every step on one worker
thread in turn, so the read rate follows the processing rate.

Event time.  The runner's Pub/Sub watermark follows the wall clock, so events have to be dated "now".  The
generated population is much denser in its first hours (onboarding) than later: a single ``time_scale`` with a
constant publish rate puts events up to ~11 s behind or ahead of the wall clock (measured on 1000 customers × 7
days), which would become late events or waits unrelated to the pipeline.  Each message is therefore dated at its
publish time (``ts`` attribute and payload): event-time order is kept and event-time spacing maps onto the wall
clock at the publish rate exactly; the equivalent mean ``time_scale`` (original span / wall-clock span) is
reported.  journeyflow cannot decide an event before the watermark passes ``ts + allowed_lateness``, so its latency
floor is the allowed lateness (2 s); the part beyond it is reported too.

The publisher and the consumer run in a child process, so that the pipeline's thread and the load
generator do not share a GIL (in-process, the publisher reached only ~69 of 100 events/s next to journeyflow).
"""
from __future__ import annotations

import logging
import math
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from journeyflow.model.reasons import DeadLetterReason
from journeyflow.tools.bench_load import (
    MARKER_EVERY,
    Driver,
    PhaseStats,
    bench_lines,
    publish_one,
)
from journeyflow.tools.bench_probes import (
    ReadCounter,
    Sampler,
    cancel,
    run_trivial,
    wait_until,
)

log = logging.getLogger(__name__)

PROJECT = "bench-project"
RATE = 100.0  # events/s, steady phase
STEADY_S = 35.0
BURST_RATE = 4000.0  # more than either pipeline takes (issue 22: at 1000/s the trivial pipeline kept up)
BURST_S = 3.0
BACKLOG_S = 8.0  # after a burst it could not take: the rate at which it reads the backlog is its maximum
WARM_S = 5.0  # left out of the steady-state window at the start of each phase
KEPT_UP = 0.8  # a pipeline "keeps up" when it reads >= 80% of the achieved rate and drains within DRAIN_S
DRAIN_S = 10.0
QUIET_S = 2.0  # after a phase that drained: wait until no output came for this long (+ the allowed lateness)
PROBE_S = 30.0  # latency probe of a pipeline saturated at RATE, at half the rate it sustained
LATENESS = "2s"
LATENESS_MS = 2000
LOW_LATENESS_MS = 500  # second latency run at RATE (when journeyflow kept up): the latency floor is the lateness
CUSTOMERS, DAYS, SEED = 1000, 7, 11  # ≈ 15k records: enough for both phases
TARGET_RATIO = 0.7
TARGET_P99_S = 2.0

Row = Callable[..., None]


# ------------------------------------------------------------------------------------------------ pure helpers
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    vals = sorted(values)
    k = min(len(vals) - 1, max(0, math.ceil(q / 100 * len(vals)) - 1))
    return float(vals[k])


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    """``n`` and mean, p50, p90, p99, max in seconds, of latencies given in ms."""
    if not latencies_ms:
        return {"n": 0}
    return {"n": len(latencies_ms), "mean_s": sum(latencies_ms) / len(latencies_ms) / 1000,
            "p50_s": percentile(latencies_ms, 50) / 1000, "p90_s": percentile(latencies_ms, 90) / 1000,
            "p99_s": percentile(latencies_ms, 99) / 1000, "max_s": max(latencies_ms) / 1000}


def count_at(samples: Sequence[tuple[float, float]], t: float) -> float:
    """Counter value at time ``t``, linearly interpolated between ``(time, count)`` samples sorted by time."""
    if not samples:
        return math.nan
    if t <= samples[0][0]:
        return samples[0][1]
    if t >= samples[-1][0]:
        return samples[-1][1]
    lo, hi = 0, len(samples) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if samples[mid][0] <= t:
            lo = mid
        else:
            hi = mid
    (t0, c0), (t1, c1) = samples[lo], samples[hi]
    return c0 if t1 == t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)


def rate_over(samples: Sequence[tuple[float, float]], t0: float, t1: float) -> float:
    """Mean rate (count/s) of a monotone counter between ``t0`` and ``t1`` (clipped to the sampled span)."""
    if not samples or t1 <= t0:
        return math.nan
    a, b = max(t0, samples[0][0]), min(t1, samples[-1][0])
    if b <= a:
        return math.nan
    return (count_at(samples, b) - count_at(samples, a)) / (b - a)


def event_latencies(decisions: Iterable[tuple[int, str | None, int | None]],
                    published: dict[str, tuple[int, int]]) -> list[int]:
    """Latency (ms) of each event-triggered decision: received − publish time of its trigger event.

    ``decisions``: ``(received_at_ms, trigger_event_id, decided_at)``; ``published``: event uid →
    ``(published_at_ms, ts)``.  A decision counts when its trigger is a published event and it was decided at that
    event's time (timer decisions, and deferred candidates that keep their trigger id but are decided later, do
    not)."""
    out = []
    for received, trigger, decided_at in decisions:
        pub = published.get(trigger or "")
        if pub is None or decided_at != pub[1]:
            continue
        out.append(received - pub[0])
    return out


# ------------------------------------------------------------------------------------------------ one pipeline
def _run_pipeline(kind: str, project: str, prefix: str, data_dir: Path, reads: ReadCounter,
                  phases: list[tuple[int, int, float]], lateness_ms: int = LATENESS_MS) -> dict[str, Any]:
    """Start ``kind`` ("journeyflow" | "trivial"), publish the ``(start, end, rate)`` phases, measure, stop."""
    from journeyflow.adapters import pubsub_names as names
    from journeyflow.tools import pubsub as pt

    pt.create_topics(project, prefix)
    out: dict[str, Any] = {"prefix": prefix, "phases": [], "allowed_lateness_ms": lateness_ms}
    result = sampler = driver = None
    stats: list[PhaseStats] = []
    records: list[tuple] = []
    late_sources: list[str] = []
    try:
        driver = Driver(kind, project, prefix, data_dir)
        t_launch = time.monotonic()
        if kind == "journeyflow":
            from journeyflow.pipelines.stream import run_stream
            result = run_stream(["--project", project, "--topic_prefix", prefix,
                                 "--allowed_lateness", f"{lateness_ms}ms",
                                 "--identity_store", f"memory://{prefix}",
                                 "--resume=false"], wait=False)  # a graph per run; fresh topics: nothing to rebuild
        else:
            result = run_trivial(project, prefix)
        # Warm-up: one invalid record (dead-lettered / counted); publish the load only once the pipeline reads.
        publish_one(names.input_topic(project, "web", prefix), b'{"bench": "warmup"}',
                    ts=str(int(time.time() * 1000)), stream="web", seq="warmup")
        if not wait_until(lambda: reads.inputs(prefix) >= 1, 90.0):
            raise RuntimeError(f"{kind} pipeline read nothing within 90 s of starting")
        out["startup_s"] = time.monotonic() - t_launch
        sampler = Sampler(lambda: reads.inputs(prefix))
        base = expected = sampler.sample()  # the warm-up record
        saturated = False
        for i, (a, b, rate) in enumerate(phases):
            if saturated:
                out["phases"].append({"offered_rate": rate, "skipped": "saturated by the previous phase"})
                continue
            st = driver.publish(a, b, rate)
            stats.append(st)
            expected += st.n
            ph: dict[str, Any] = {"offered_rate": rate, "published": st.n, "publish_errors": st.errors,
                                  "achieved_publish_rate": st.achieved_rate,
                                  "mean_time_scale": st.original_span_ms / max(1.0, (st.t_end - st.t_start) * 1000)}
            w0 = st.t_start + min(WARM_S, (st.t_end - st.t_start) / 3)
            ph["window_s"] = st.t_end - w0
            ph["read_per_s"] = rate_over(sampler.samples, w0, st.t_end)
            ph["read_by_end"] = count_at(sampler.samples, st.t_end) - (expected - st.n)
            backlog = expected - reads.inputs(prefix)
            # wait for the backlog to be read, unless it clearly cannot be within DRAIN_S
            hopeless = backlog > 2 * max(ph["read_per_s"], 1.0) * DRAIN_S
            drained = (not hopeless) and wait_until(lambda n=expected: reads.inputs(prefix) >= n, DRAIN_S)
            ph["drained"] = drained
            ph["backlog_after_publish"] = backlog
            if backlog > max(ph["read_per_s"], 1.0):  # saturated: more than a second of reading left
                if hopeless:
                    wait_until(lambda n=expected: reads.inputs(prefix) >= n, BACKLOG_S)
                done_at = [t for t, c in list(sampler.samples) if c >= expected]  # backlog read by then
                t_read = done_at[0] if done_at else sampler.samples[-1][0]
                ph["backlog_read_per_s"] = rate_over(sampler.samples, st.t_end, t_read)
            ph["kept_up"] = bool(drained and ph["read_per_s"] >= KEPT_UP * min(rate, st.achieved_rate))
            saturated = not ph["kept_up"]
            if drained:  # let the last events' outputs out (journeyflow: after the allowed-lateness hold)
                ph["outputs_quiet"] = driver.wait_quiet(QUIET_S + (lateness_ms / 1000 if kind == "journeyflow"
                                                                   else 0.0), timeout=20.0)
            out["phases"].append(ph)
        out["total_read"] = sampler.sample() - base
        out["published"] = expected - base
    finally:
        if sampler is not None:
            sampler.stop()
        if driver is not None:
            try:
                records, stopped, err, dead = driver.stop()
                if kind == "journeyflow":
                    out["dead_letters"] = dead["reasons"]
                    out["late_events"] = dead["reasons"].get(DeadLetterReason.LATE_EVENT, 0)
                    late_sources = dead["late_sources"]
                if not stopped:
                    out["consumer_not_stopped"] = True
                if err:
                    out["consumer_error"] = err
            except Exception as e:
                out["driver_error"] = f"{type(e).__name__}: {e}"
        if not cancel(result):
            log.warning("%s pipeline did not stop within 30 s of cancel()", kind)
            out["cancel_timed_out"] = True
        try:
            pt.delete_topics(project, prefix)  # frees the emulator of any backlog
        except Exception as e:
            log.warning("could not delete the %s topics: %s", prefix, e)

    out["outputs_received"] = len(records)
    measured = [ph for ph in out["phases"] if "skipped" not in ph]
    if kind == "journeyflow":
        decisions = [(r[0], r[1], r[2]) for r in records]
        for ph, st in zip(measured, stats):
            lat = event_latencies(decisions, st.published)
            ph["latency"] = latency_summary(lat)
            # the designed hold: nothing is decided before the watermark passes ts + allowed lateness
            ph["latency_beyond_hold"] = latency_summary([x - lateness_ms for x in lat])
            ph["late_events"] = sum(1 for src in late_sources if src in st.published)
    else:
        bounds = [(a, b) for (a, b, _r), _ph in zip(phases, measured)]
        lat_by_phase: list[list[int]] = [[] for _ in measured]
        for received, _t, _d, did, pub in records:
            if not (did.startswith("t") and did[1:].isdigit() and pub.isdigit()):
                continue  # the warm-up record
            seq = int(did[1:])
            for j, (lo, hi) in enumerate(bounds):
                if lo <= seq < hi:
                    lat_by_phase[j].append(received - int(pub))
        for ph, lat in zip(measured, lat_by_phase):
            ph["latency"] = latency_summary(lat)
            ph["outputs"] = len(lat)
    return out


def max_sustained(r: dict[str, Any]) -> float:
    """The highest read rate of a phase where the pipeline was saturated (while the phase was published, or while
    it read the backlog the phase left: ``backlog_read_per_s``), else of the last phase run."""
    phases = [ph for ph in r.get("phases", []) if "read_per_s" in ph]
    saturated = [ph["read_per_s"] for ph in phases if not ph["kept_up"]]
    saturated += [ph["backlog_read_per_s"] for ph in phases
                  if not ph["kept_up"] and ph.get("backlog_read_per_s", 0) > 0]
    if saturated:
        return max(saturated)
    return phases[-1]["read_per_s"] if phases else math.nan


# ------------------------------------------------------------------------------------------------ section
def _fmt_lat(s: dict[str, Any]) -> str:
    if not s.get("n"):
        return "n/a"
    return f"{s['p50_s']:.2f} / {s['p99_s']:.2f} s"


def bench_stream(work: Path, RESULTS: dict, row: Row) -> None:
    """Section 3 of ``make bench`` (see the module docstring): both pipelines on a fresh Pub/Sub emulator under
    ``work``; figures go to ``RESULTS["stream"]`` and to ``row``.  Skipped, with a row saying why, without gcloud."""
    from journeyflow.tools.emulator import GcloudEmulator, emulator_available

    from journeyflow.tools import bench_stream_cpu
    from journeyflow.tools.generator import generate

    os.environ.setdefault("JOURNEYFLOW_HASH_KEY", "bench-key")
    work = Path(work)
    data = work / f"pop-stream-{CUSTOMERS}-{DAYS}-{SEED}"
    if not (data / "web.jsonl").exists():
        generate(CUSTOMERS, DAYS, SEED, data)
    print("\n3a. streaming CPU cost under TestStream (no Pub/Sub), journeyflow vs a trivial stateful pipeline")
    RESULTS["stream_cpu"] = m = bench_stream_cpu.measure(data)
    bench_stream_cpu.report(m, row)
    print("\n3. streaming on the Pub/Sub emulator (BundleBasedDirectRunner), journeyflow vs a trivial pipeline")
    if not emulator_available("pubsub"):
        RESULTS["stream"] = {"skipped": "gcloud not installed"}
        row("stream", "streaming benchmark", "skipped: gcloud not installed")
        return
    t_section = time.monotonic()
    n_lines = len(bench_lines(data))
    n1, n2 = int(RATE * STEADY_S), int(BURST_RATE * BURST_S)
    if n_lines < n1 + n2:
        raise RuntimeError(f"{data} has {n_lines} records, {n1 + n2} needed")
    phases = [(0, n1, RATE), (n1, n1 + n2, BURST_RATE)]
    res: dict[str, Any] = {"rate": RATE, "steady_s": STEADY_S, "burst_rate": BURST_RATE, "burst_s": BURST_S,
                           "allowed_lateness": LATENESS, "population": f"{CUSTOMERS} customers x {DAYS} days",
                           "events_steady": n1, "events_burst": n2, "runner": "BundleBasedDirectRunner",
                           "latency_markers": f"every {MARKER_EVERY}th message"}
    RESULTS["stream"] = res
    run_id = uuid.uuid4().hex[:6]
    reads = ReadCounter()
    emulator = GcloudEmulator("pubsub", project=PROJECT)
    try:
        if not reads.install():
            raise RuntimeError("cannot count the records the runner reads (Beam internals changed)")
        emulator.start()
        res["emulator_startup_s"] = emulator.startup_seconds
        with emulator.patched_env():
            for kind in ("journeyflow", "trivial"):
                try:
                    res[kind] = _run_pipeline(kind, PROJECT, f"b{kind[0]}{run_id}-", data, reads, phases)
                except Exception as e:
                    traceback.print_exc()
                    res[kind] = {"error": f"{type(e).__name__}: {e}"}
            steady = (res["journeyflow"].get("phases") or [{}])[0]
            if steady.get("kept_up") is False and steady.get("read_per_s", 0) > 0:
                # Saturated at RATE: its latency there only measures the backlog.  A fresh pipeline at half the
                # rate it sustained shows the latency it has when it keeps up.
                rate = max(1.0, min(RATE / 2, round(steady["read_per_s"] / 2, 1)))
                try:
                    res["journeyflow_probe"] = _run_pipeline(
                        "journeyflow", PROJECT, f"bp{run_id}-", data, reads, [(0, int(rate * PROBE_S), rate)])
                except Exception as e:
                    traceback.print_exc()
                    res["journeyflow_probe"] = {"error": f"{type(e).__name__}: {e}"}
            elif steady.get("kept_up"):
                # Kept up: its latency is the allowed lateness plus the runner's cycle.  The same load with a
                # shorter allowed lateness shows what that setting buys and whether events then arrive too late.
                try:
                    res["journeyflow_low_lateness"] = _run_pipeline(
                        "journeyflow", PROJECT, f"bl{run_id}-", data, reads, [(0, int(RATE * PROBE_S), RATE)],
                        lateness_ms=LOW_LATENESS_MS)
                except Exception as e:
                    traceback.print_exc()
                    res["journeyflow_low_lateness"] = {"error": f"{type(e).__name__}: {e}"}
    finally:
        reads.uninstall()
        emulator.stop()
    res["section_seconds"] = time.monotonic() - t_section
    _report(res, row)


def _latency_run(res: dict[str, Any], key: str, how: str, row: Row) -> dict[str, Any] | None:
    """Reports the latency of the extra journeyflow run ``res[key]`` (one phase) and stores its p99 as
    ``p99_s_<key without "journeyflow_">``; returns the phase, or None when the run did not happen or failed."""
    ph = (res.get(key, {}).get("phases") or [{}])[0]
    if "latency" not in ph:
        return None
    res["p99_s_" + key.removeprefix("journeyflow_")] = ph["latency"].get("p99_s")
    row("stream", f"[journeyflow] latency p50 / p99 at {ph['offered_rate']:g}/s, {how} "
                  f"({ph['latency'].get('n', 0)} decisions)", _fmt_lat(ph["latency"]),
        ("kept up" if ph["kept_up"] else "FELL BEHIND") + f"; target p99 <= {TARGET_P99_S:g} s")
    return ph


def _report(res: dict[str, Any], row: Row) -> None:
    jf, tr = res.get("journeyflow", {}), res.get("trivial", {})
    for kind, r in (("journeyflow", jf), ("trivial", tr), ("journeyflow, short lateness",
                                                         res.get("journeyflow_low_lateness", {}))):
        for what in ("error", "driver_error", "consumer_error"):
            if what in r:
                row("stream", f"[{kind}] FAILED ({what})", r[what].splitlines()[0][:80])
    if not jf.get("phases") or not tr.get("phases") or "read_per_s" not in jf["phases"][0] \
            or "read_per_s" not in tr["phases"][0]:
        return
    js, ts_ = jf["phases"][0], tr["phases"][0]
    res["ratio_steady"] = js["read_per_s"] / ts_["read_per_s"] if ts_["read_per_s"] else math.nan
    res["journeyflow_max_events_per_s"] = max_sustained(jf)
    res["trivial_max_events_per_s"] = max_sustained(tr)
    res["ratio_max"] = (res["journeyflow_max_events_per_s"] / res["trivial_max_events_per_s"]
                        if res["trivial_max_events_per_s"] else math.nan)
    res["p99_s_steady"] = js["latency"].get("p99_s")
    res["mean_time_scale_steady"] = js["mean_time_scale"]
    r = f"{RATE:g}/s"
    row("stream", f"offered {r} for {STEADY_S:g} s; publisher achieved (jf / trivial)",
        f"{js['achieved_publish_rate']:.1f} / {ts_['achieved_publish_rate']:.1f}")
    row("stream", f"[journeyflow] sustained events/s at {r} (records read)",
        f"{js['read_per_s']:.1f}", "kept up" if js["kept_up"] else "FELL BEHIND")
    row("stream", f"[trivial] sustained events/s at {r}", f"{ts_['read_per_s']:.1f}",
        "kept up" if ts_["kept_up"] else "FELL BEHIND")
    row("stream", f"ratio journeyflow / trivial events/s at {r}", f"{res['ratio_steady']:.2f}",
        f"target >= {TARGET_RATIO}")
    row("stream", f"[journeyflow] event→decision latency p50 / p99 at {r} "
                  f"({js['latency'].get('n', 0)} decisions)", _fmt_lat(js["latency"]),
        f"target p99 <= {TARGET_P99_S:g} s")
    row("stream", f"[journeyflow]   beyond the {LATENESS} allowed-lateness hold", _fmt_lat(js["latency_beyond_hold"]))
    row("stream", f"[journeyflow]   late events dead-lettered at {r}", f"{js.get('late_events', 'n/a')}")
    row("stream", f"[trivial] event→output latency p50 / p99 at {r}", _fmt_lat(ts_["latency"]))
    probe = _latency_run(res, "journeyflow_probe", "fresh pipeline", row)
    if probe is not None:
        row("stream", f"[journeyflow]   beyond the {LATENESS} allowed-lateness hold",
            _fmt_lat(probe["latency_beyond_hold"]))
    low = _latency_run(res, "journeyflow_low_lateness", f"--allowed_lateness {LOW_LATENESS_MS}ms", row)
    if low is not None:
        row("stream", "[journeyflow]   late events dead-lettered (an allowed lateness too short for the load)",
            f"{low.get('late_events', 'n/a')}")
    for kind, rr in (("journeyflow", jf), ("trivial", tr)):
        how = ("steady phase, saturated" if not rr["phases"][0]["kept_up"]
               else f"burst offered at {BURST_RATE:g}/s")
        last = [ph for ph in rr["phases"] if "kept_up" in ph][-1]
        bound = ">= " if last["kept_up"] else ""  # kept up with the whole burst: its maximum is higher
        row("stream", f"[{kind}] max sustained events/s ({how})", f"{bound}{max_sustained(rr):.1f}")
    burst = [ph for ph in jf["phases"][1:] if "late_events" in ph]
    if burst:
        row("stream", f"[journeyflow]   late events dead-lettered in the {BURST_RATE:g}/s burst (the local "
                      "watermark follows the wall clock, not the backlog)", f"{burst[0]['late_events']}")
    row("stream", "ratio journeyflow / trivial at max sustained rate", f"{res['ratio_max']:.2f}",
        f"target >= {TARGET_RATIO}")


