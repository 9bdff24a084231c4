"""``journeyflow stream``: the streaming pipeline on Pub/Sub (:func:`journeyflow.pipelines.stream.run_stream`).

Every option is a pipeline option (Beam's and journeyflow's); runs until the pipeline ends, exit 0."""
from __future__ import annotations

import argparse

HELP = "run the streaming pipeline on Pub/Sub (BundleBasedDirectRunner locally)"


def add_args(p: argparse.ArgumentParser) -> None:
    """No options of its own: the epilog points to the pipeline options."""
    p.epilog = ("Options are Beam's and journeyflow's pipeline options (see --help of "
                "journeyflow.pipelines.options), e.g. --project_id P --topic_prefix X --identity_store URL "
                "--allowed_lateness 30s --runner DataflowRunner.")


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Run the streaming pipeline with ``rest`` as its options and wait for it; returns 0."""
    from journeyflow.pipelines.stream import run_stream
    run_stream(rest)
    return 0
