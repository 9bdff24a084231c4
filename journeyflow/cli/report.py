"""``journeyflow report OUT``: a self-contained HTML report: headline figures, the run's inputs, per journey the
conversion by randomized arm with 95% intervals and the uplift, step outcomes in journey order, sends and
conversions per day, suppressions, conflicts and dead letters (:func:`journeyflow.analytics.report.write_report`);
prints the path written, exit 0 (a warning names the tables ``OUT/tables/`` lacks); exit 2 when a file at the report's
path is not a report journeyflow wrote (kept) and ``--overwrite`` is not given."""
from __future__ import annotations

import argparse

HELP = "write OUT/report.html: uplift by randomized arm, step outcomes, sends and conversions, suppressions"


def add_args(p: argparse.ArgumentParser) -> None:
    """``OUT [--path FILE]``."""
    p.add_argument("out", help="replay output directory (with tables/)")
    p.add_argument("--path", metavar="FILE", help="where to write the HTML (default: OUT/report.html)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a file at the report's path that journeyflow report did not write (without it "
                        "such a file is kept: exit 2)")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Write the report and print its path; returns 0.  ``--path`` is checked before the report is built
    (:func:`~journeyflow.cli.common.check_output_file`; missing folders are created), and so is a file already at
    the report's path: one that journeyflow report did not write is kept (exit 2) unless ``--overwrite``
    (:func:`~journeyflow.cli.common.check_replaced_file`)."""
    import os

    from journeyflow.analytics.report import is_journeyflow_report
    from journeyflow.cli.common import check_output_file, check_replaced_file
    if ns.path is not None:
        check_output_file(ns.path, "--path", make_parents=True)
    target = ns.path if ns.path is not None else os.path.join(ns.out, "report.html")
    check_replaced_file(target, "--path" if ns.path is not None else "the report's path (--path)",
                        is_journeyflow_report, "a report journeyflow wrote", getattr(ns, "overwrite", False))
    from journeyflow.analytics.report import write_report
    _warn_missing_tables(ns.out)
    print(write_report(ns.out, ns.path))
    return 0


def _warn_missing_tables(out: str) -> None:
    """One stderr line naming the tables of ``TABLES`` that ``OUT/tables/`` lacks (a local OUT holding some): the
    report leaves their sections empty (:func:`~journeyflow.cli.common.warn_missing_tables`)."""
    from journeyflow.cli.common import warn_missing_tables
    warn_missing_tables(out, "report", "the report's figures from {them} are empty")
