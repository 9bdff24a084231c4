"""``journeyflow publish``: a generated directory to the input topics at a chosen rate
(:func:`journeyflow.tools.pubsub.publish_dir`; attributes and ``--shift-to-now`` are described in
:mod:`journeyflow.tools.pubsub`).

Progress goes to stderr, the publish statistics to stdout; exit 1 when some publishes failed, else 0."""
from __future__ import annotations

import argparse
import sys

from journeyflow.cli.common import count_at_least_one, hyphen_aliases, positive_number
from journeyflow.cli.topics import add_target_args

HELP = "publish a generated directory to the input topics at a chosen rate"


def add_args(parser: argparse.ArgumentParser) -> None:
    """:func:`~journeyflow.cli.topics.add_target_args` and ``--input DIR [--rate R] [--shift_to_now]
    [--time_scale F] [--limit N]`` (``--rate`` in messages/s; the hyphenated spellings are deprecated).  Values are
    checked at parse time (``--rate`` and ``--time_scale`` finite and > 0, ``--limit`` ≥ 1): exit 2 before any
    connection is tried; ``--time_scale`` without ``--shift_to_now`` (which it scales) is refused in :func:`run`."""
    add_target_args(parser)
    parser.add_argument("--input", required=True, metavar="DIR", help="directory with <stream>.jsonl files")
    parser.add_argument("--rate", type=positive_number, default=None, metavar="R",
                        help="messages per second (default: as fast as possible)")
    parser.add_argument("--shift_to_now", action="store_true",
                        help="move event times so the first event is now (needed for the local streaming runner, "
                             "whose watermark follows the wall clock)")
    parser.add_argument("--time_scale", type=positive_number, default=None, metavar="F",
                        help="with --shift_to_now (required): divide gaps between events by this factor "
                             "(default 1: the recorded gaps)")
    parser.add_argument("--limit", type=count_at_least_one, default=None, metavar="N",
                        help="publish only the first N events (event-time order; default: all)")
    hyphen_aliases(parser, "--shift_to_now", "--time_scale")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Publish ``ns.input`` and print the statistics; 1 if any publish failed, else 0."""
    from pathlib import Path

    from journeyflow.config.errors import UserError
    if getattr(ns, "time_scale", None) is not None and not getattr(ns, "shift_to_now", False):
        # (it scales the gaps of the times --shift_to_now rewrites: alone it changed nothing, silently)
        raise UserError("--time_scale needs --shift_to_now: it divides the gaps between the shifted event times "
                        "(without --shift_to_now the recorded times are published as they are)")
    if not Path(ns.input).is_dir():  # before the Pub/Sub target is looked for: the input is the user's to fix first
        raise UserError(f"--input {ns.input} is not a folder (of <stream>.jsonl files)")
    from journeyflow.cli.common import check_input_dir
    check_input_dir(ns.input, read=("jsonl",))  # names what is not published (<stream>.avro, orders.json ...)
    from journeyflow.tools.pubsub import check_access, publish_dir
    target = check_access()
    print(f"publishing {ns.input} to {target}, project {ns.project} ...", file=sys.stderr)
    stats = publish_dir(ns.project, ns.input, ns.rate, prefix=getattr(ns, "prefix", "") or "",
                        shift_to_now=bool(getattr(ns, "shift_to_now", False)), limit=getattr(ns, "limit", None),
                        time_scale=float(getattr(ns, "time_scale", None) or 1.0), progress=True)
    print(stats.render())
    return 1 if stats.errors else 0
