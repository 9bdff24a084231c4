"""``journeyflow consume``: an example downstream consumer of a decision topic (:func:`journeyflow.tools.pubsub.consume`).

One JSON line per decision on stdout (``{"attributes", "data"}``), a summary on stderr; exit 0."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from journeyflow.cli.common import count_at_least_one, hyphen_aliases, positive_number
from journeyflow.cli.topics import add_target_args

HELP = "example downstream consumer of a decision topic"


def add_args(parser: argparse.ArgumentParser) -> None:
    """:func:`~journeyflow.cli.topics.add_target_args` and ``--topic T [--max_messages N] [--timeout S] [--no_ack]``
    (the hyphenated spellings are deprecated; ``--max_messages`` ≥ 1 and ``--timeout`` > 0 are checked at parse
    time, exit 2)."""
    from journeyflow.model.decisions import ALL_TOPICS
    add_target_args(parser)
    parser.add_argument("--topic", required=True, choices=ALL_TOPICS, help="output topic to read (its -sub)")
    parser.add_argument("--max_messages", type=count_at_least_one, default=None, metavar="N",
                        help="stop after N decisions (default: no limit)")
    parser.add_argument("--timeout", type=positive_number, metavar="S", default=None,
                        help="stop after this many seconds without a new message (default: run until Ctrl-C)")
    parser.add_argument("--no_ack", action="store_true",
                        help="peek: acknowledge nothing; the messages seen are released (nacked) at the end")
    hyphen_aliases(parser, "--max_messages", "--no_ack")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Print every new decision of ``<prefix><topic>-sub`` until the limit or timeout; returns 0."""
    from journeyflow.adapters.pubsub_names import output_subscription
    from journeyflow.tools.pubsub import check_access, consume
    target = check_access()
    print(f"consuming {output_subscription(ns.project, ns.topic, ns.prefix or '')} ({target}); "
          f"Ctrl-C to stop", file=sys.stderr)

    def show(record: dict[str, Any]) -> None:
        print(json.dumps({"attributes": record["attributes"], "data": record["data"]}, ensure_ascii=False),
              flush=True)

    stats: dict[str, Any] = {}
    consume(ns.project, ns.topic, prefix=ns.prefix or "", max_messages=ns.max_messages, timeout=ns.timeout,
            ack=not ns.no_ack, callback=show, collect=False, stats=stats)
    print(f"consumed {stats.get('consumed', 0)} decisions in {stats.get('elapsed_s', 0.0):.1f} s, "
          f"{stats.get('duplicates', 0)} duplicates dropped"
          + (" (not acknowledged)" if ns.no_ack else ""), file=sys.stderr)
    return 0
