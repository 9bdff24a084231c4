"""``journeyflow replay``: files through the bounded pipeline (:func:`journeyflow.pipelines.replay.run_replay`).

Prints the replay summary; exit 0 when the record accounting reconciles, 3 when it does not."""
from __future__ import annotations

import argparse

HELP = "replay files through the pipeline (bounded)"


def add_args(p: argparse.ArgumentParser) -> None:
    """``--input DIR --output DIR [--journeys YAML] [--policy YAML]``; other options go to Beam."""
    p.add_argument("--input", required=True, help="directory with <stream>.jsonl / .avro")
    p.add_argument("--output", required=True, help="output directory (topics/, tables/)")
    p.add_argument("--journeys", help="journey definitions YAML (default: shipped set)")
    p.add_argument("--policy", help="arbitration policy YAML (default: shipped policy)")
    p.epilog = "Any other option is passed to Beam (e.g. --runner, --direct_num_workers, --until)."


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Run the replay with ``rest`` passed through to the pipeline options; 0 if it reconciles, else 3."""
    from journeyflow.pipelines.replay import run_replay
    argv = ["--input", ns.input, "--output", ns.output]
    if ns.journeys:
        argv += ["--journeys", ns.journeys]
    if ns.policy:
        argv += ["--policy", ns.policy]
    summary = run_replay(argv + rest)
    print(summary.render())
    return 0 if summary.reconciles else 3
