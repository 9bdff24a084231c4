"""``journeyflow validate OUT``: the data-quality checks over ``OUT/tables``
(:func:`journeyflow.analytics.quality.validate_output`).

Prints the report (text, or ``--json``); exit 0 when every check passes, 1 when one fails, 2 for a half-given input
range.  Great Expectations is imported only when a validation runs."""
from __future__ import annotations

import argparse
import json
import sys

from journeyflow.cli.common import hyphen_aliases

HELP = "data-quality checks (Great Expectations) over OUT/tables; exit 1 on failure"


def add_args(p: argparse.ArgumentParser) -> None:
    """``OUT [--min_ts T --max_ts T] [--json] [--failures_only]`` (T: epoch ms or ISO-8601 with offset; the hyphenated
    spellings are deprecated)."""
    p.add_argument("out", help="replay output directory (with tables/)")
    p.add_argument("--min_ts", metavar="T", help="start of the replayed input (epoch ms or ISO-8601 with its UTC "
                                                 "offset, as replay --until); with --max_ts: both or neither; "
                                                 "default: derived from the tables")
    p.add_argument("--max_ts", metavar="T", help="end of the replayed input (epoch ms or ISO-8601 with its UTC "
                                                 "offset); with --min_ts: both or neither; default: derived from "
                                                 "the tables")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    p.add_argument("--failures_only", action="store_true", help="text report: list failed checks only")
    hyphen_aliases(p, "--min_ts", "--max_ts", "--failures_only")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Validate ``ns.out`` and print the report (a progress line on a terminal meanwhile); 0 all passed, 1 a check
    failed, 2 only one of --min_ts/--max_ts, a bound that is not a time or --min_ts after --max_ts (checked
    before Great Expectations is imported)."""
    import logging

    from journeyflow.config.errors import UserError
    # the arguments first: importing Great Expectations takes seconds (20 s on a loaded machine)
    from journeyflow.cli.common import time_option
    # read as replay --until is: a bare date or a local time was taken as UTC here and refused there; a bad value
    # is named first, also when the other bound is missing (it was only "give both")
    given = [(flag, value) for flag, value in (("--min_ts", ns.min_ts), ("--max_ts", ns.max_ts)) if value is not None]
    bounds = [time_option(flag, value) for flag, value in given]
    if len(given) == 1:  # (a usage error as argparse's: "journeyflow validate: error: ...", exit 2)
        missing = "--max_ts" if given[0][0] == "--min_ts" else "--min_ts"
        raise UserError(f"{given[0][0]} needs {missing} too: give both bounds of the replayed input, or neither "
                        "(then they are derived from the tables)")
    if bounds and bounds[0] > bounds[1]:
        raise UserError(f"--min_ts {ns.min_ts} is after --max_ts {ns.max_ts}")
    from journeyflow.analytics.quality import validate_output
    from journeyflow.cli.progress import Ticker
    if not getattr(ns, "verbose", False):  # GX sets this logger to INFO when imported: one line of noise per run
        import great_expectations.data_context.types.base  # noqa: F401  (imported by the run anyway)
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    rng = tuple(bounds) if bounds else None  # (epoch ms, as read above)
    with Ticker("validate", lambda: f"data-quality suites over {ns.out}/tables"):
        report = validate_output(ns.out, input_range=rng)
    if getattr(ns, "json", False):
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        print(report.render(verbose=not getattr(ns, "failures_only", False)))
    return 0 if report.ok else 1
