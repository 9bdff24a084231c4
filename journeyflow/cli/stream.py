"""``journeyflow stream``: the streaming pipeline on Pub/Sub (:func:`journeyflow.pipelines.stream.run_stream`).

journeyflow's streaming options are declared here (``--help`` lists them), ``--project`` is Beam's (the Pub/Sub
project and, on Dataflow, the job's); any other option must be a Beam pipeline option (``--help_beam``).  Runs
until the pipeline ends, exit 0.  ``--project_id`` is the deprecated spelling of ``--project``."""
from __future__ import annotations

import argparse

from journeyflow.cli.common import deprecated_alias
from journeyflow.cli.replay import add_beam_help

HELP = "run the streaming pipeline on Pub/Sub (BundleBasedDirectRunner locally)"


def add_args(p: argparse.ArgumentParser) -> None:
    """``--project P`` and the streaming options of :mod:`journeyflow.config.options`; other options go to Beam."""
    from journeyflow.config.options import STREAM, add_pipeline_options
    p.add_argument("--project", default=None, metavar="P",
                   help="GCP project of the Pub/Sub topics (and, on Dataflow, of the job); default: "
                        "journeyflow-local")
    add_pipeline_options(p, STREAM, title="journeyflow pipeline options")
    deprecated_alias(p, "--project_id", "--project")
    add_beam_help(p)


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Run the streaming pipeline with ``rest`` as its Beam options and wait for it; returns 0.  ``--default_region``
    is checked first (:func:`~journeyflow.cli.common.phone_region`, exit 2)."""
    from journeyflow.cli.common import phone_region
    phone_region(ns.default_region)
    from journeyflow.config.options import STREAM, to_argv
    from journeyflow.pipelines.stream import run_stream
    argv = to_argv(ns, STREAM) + (["--project", ns.project] if ns.project else [])
    run_stream(argv + rest)
    return 0
