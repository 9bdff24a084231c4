"""``journeyflow report OUT``: a self-contained HTML report: headline figures, the run's inputs, per journey the
conversion by randomized arm with 95% intervals and the uplift, step outcomes in journey order, sends and
conversions per day, suppressions, conflicts and dead letters (:func:`journeyflow.analytics.report.write_report`);
prints the path written, exit 0 (a warning names the tables ``OUT/tables/`` lacks)."""
from __future__ import annotations

import argparse

HELP = "write OUT/report.html: uplift by randomized arm, step outcomes, sends and conversions, suppressions"


def add_args(p: argparse.ArgumentParser) -> None:
    """``OUT [--path FILE]``."""
    p.add_argument("out", help="replay output directory (with tables/)")
    p.add_argument("--path", metavar="FILE", help="where to write the HTML (default: OUT/report.html)")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Write the report and print its path; returns 0.  ``--path`` is checked before the report is built
    (:func:`~journeyflow.cli.common.check_output_file`; missing folders are created)."""
    from journeyflow.cli.common import check_output_file
    if ns.path is not None:
        check_output_file(ns.path, "--path", make_parents=True)
    from journeyflow.analytics.report import write_report
    _warn_missing_tables(ns.out)
    print(write_report(ns.out, ns.path))
    return 0


def _warn_missing_tables(out: str) -> None:
    """One stderr line naming the tables of ``TABLES`` that ``OUT/tables/`` lacks (a local OUT holding some): the
    report leaves their sections empty (:func:`~journeyflow.cli.common.warn_missing_tables`)."""
    from journeyflow.cli.common import warn_missing_tables
    warn_missing_tables(out, "report", "the report's figures from {them} are empty")
