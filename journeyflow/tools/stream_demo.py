"""``make stream``: the streaming pipeline end to end on this machine, with nothing installed by hand.

Starts the Pub/Sub emulator on a free loopback port, creates the topics, runs the streaming pipeline
(BundleBasedDirectRunner), publishes a generated population shifted to "now" at a chosen rate, and acts as an
execution tool on the decision topics for a while, printing what arrives.  Stops everything on exit.
"""
from __future__ import annotations

import collections
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """``make stream``: emulator, topics, the streaming pipeline, a published load and an example consumer; exit code."""
    from journeyflow.cli.common import hyphen_aliases, make_parser
    ap = make_parser(prog="python -m journeyflow.tools.stream_demo", description=__doc__)
    ap.add_argument("--input", help="generated directory (default: a fresh 100-customer population)")
    ap.add_argument("--rate", type=float, default=50.0, help="events per second published")
    ap.add_argument("--time_scale", type=float, default=None,
                    help="event-time seconds per wall-clock second (default: fit the published span to the "
                         "publishing time, so events are 'now' when they are published)")
    ap.add_argument("--limit", type=int, default=1000, help="events to publish")
    ap.add_argument("--allowed_lateness", default="30s", help="how far behind the watermark events may arrive")
    ap.add_argument("--project", default="journeyflow-local", help="GCP project of the emulator's topics")
    hyphen_aliases(ap, "--time_scale", "--allowed_lateness")
    ns = ap.parse_args(argv)

    from journeyflow.tools.generator import generate
    from journeyflow.tools import pubsub as pt
    from journeyflow.tools.emulator import GcloudEmulator
    from journeyflow.pipelines.stream import run_stream

    work = Path(tempfile.mkdtemp(prefix="journeyflow-stream-"))
    data = Path(ns.input) if ns.input else work / "data"
    if not ns.input:
        generate(100, 14, 7, data)
    with GcloudEmulator("pubsub", project=ns.project) as emulator, emulator.patched_env():
        print(f"Pub/Sub emulator on {emulator.host}; topics: {len(pt.create_topics(ns.project))} created")
        result = run_stream(["--project", ns.project, "--identity_store", f"sqlite:///{work / 'identity.db'}",
                             "--allowed_lateness", ns.allowed_lateness, "--resume=false"],  # a fresh emulator
                            wait=False)
        try:
            time.sleep(3)
            scale = ns.time_scale
            if scale is None:
                lines, _ = pt.load_dir(data, limit=ns.limit)
                tss = [line.ts for line in lines if line.ts is not None]
                scale = max(1.0, (max(tss) - min(tss)) / 1000 / (ns.limit / ns.rate))
            t_pub = time.time()
            stats = pt.publish_dir(ns.project, data, rate=ns.rate, shift_to_now=True, time_scale=scale,
                                   limit=ns.limit)
            print(stats.render())
            # the local runner's watermark follows the wall clock: listen until it has passed the last event
            span_s = (stats.last_ts - stats.first_ts) / 1000 if stats.last_ts and stats.first_ts else 0
            from journeyflow.pipelines.stream import parse_duration_ms
            listen_until = t_pub + span_s + parse_duration_ms(ns.allowed_lateness) / 1000 + 15
            seen: collections.Counter = collections.Counter()

            def show(m: dict) -> None:
                d = m["data"] if isinstance(m["data"], dict) else json.loads(m["data"])
                seen[(d["action"], d["channel"])] += 1
                if sum(seen.values()) <= 10:
                    print(f"  decision {d['decision_id']} {d['action']:<8} {d['channel'] or '-':<12} "
                          f"{d['journey_id'] or '-':<18} {','.join(d['reason_codes'])}")

            while time.time() < listen_until:
                pt.consume(ns.project, "decisions-audit", timeout=min(10, max(1, listen_until - time.time())),
                           callback=show, collect=False)
            print("decisions on decisions-audit:", dict(seen))
            dead: collections.Counter = collections.Counter()
            pt.consume(ns.project, "dead-letter", timeout=3, collect=False,
                       callback=lambda m: dead.update([(m["data"] if isinstance(m["data"], dict)
                                                        else json.loads(m["data"]))["reason"]]))
            print("dead letters:", dict(dead))
            from apache_beam.metrics.metric import MetricsFilter
            counters = result.metrics().query(MetricsFilter().with_namespace("journeyflow"))["counters"]
            print("pipeline counters:", {c.key.metric.name: c.committed for c in counters})
        finally:
            result.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
