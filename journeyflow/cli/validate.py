"""``journeyflow validate OUT``: the data-quality checks over ``OUT/tables``
(:func:`journeyflow.analytics.quality.validate_output`).

Prints the report (text, or ``--json``); exit 0 when every check passes, 1 when one fails, 2 for a half-given input
range.  Great Expectations is imported only when a validation runs."""
from __future__ import annotations

import argparse
import json
import sys

HELP = "data-quality checks (Great Expectations) over OUT/tables; exit 1 on failure"


def add_args(p: argparse.ArgumentParser) -> None:
    """``OUT [--min-ts T --max-ts T] [--json] [--failures-only]`` (T: epoch ms or ISO-8601)."""
    p.add_argument("out", help="replay output directory (with tables/)")
    p.add_argument("--min-ts", help="start of the replayed input (epoch ms or ISO-8601); default: derived")
    p.add_argument("--max-ts", help="end of the replayed input (epoch ms or ISO-8601); default: derived")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    p.add_argument("--failures-only", action="store_true", help="text report: list failed checks only")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Validate ``ns.out`` and print the report; 0 all passed, 1 a check failed, 2 only one of --min-ts/--max-ts."""
    from journeyflow.analytics.quality import validate_output
    if (ns.min_ts is None) != (ns.max_ts is None):
        print("journeyflow validate: give both --min-ts and --max-ts, or neither", file=sys.stderr)
        return 2
    rng = (ns.min_ts, ns.max_ts) if ns.min_ts is not None else None
    report = validate_output(ns.out, input_range=rng)
    if getattr(ns, "json", False):
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        print(report.render(verbose=not getattr(ns, "failures_only", False)))
    return 0 if report.ok else 1
