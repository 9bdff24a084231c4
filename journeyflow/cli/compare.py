"""``journeyflow compare``: the same input through a per-channel automation baseline and through journeyflow, side by
side (:func:`journeyflow.analytics.compare.compare`).

Prints the report (``--json OUT.json`` also writes it as JSON, and says so on stderr); exit 0."""
from __future__ import annotations

import argparse
import json
import os
import sys

from journeyflow.cli.common import (check_input_dir, check_output_dir, check_output_file, check_replaced_file,
                                    hyphen_aliases)

HELP = "the same input through per-channel automation and through journeyflow, side by side"


def add_args(p: argparse.ArgumentParser) -> None:
    """``--input DIR [--journeys YAML] [--policy YAML] [--attributes YAML] [--segment_mapping YAML] [--link_rules YAML]
    [--json OUT.json [--overwrite]] [--opt_in_baseline] [--work_dir DIR]`` (a file at ``--json`` that compare did not
    write is kept, exit 2, unless ``--overwrite``)
    (the hyphenated spellings are deprecated)."""
    p.add_argument("--input", required=True, help="replay input directory (<stream>.jsonl / .avro; "
                                                  "ground_truth.jsonl when generated)")
    p.add_argument("--journeys", help="journey definitions YAML (default: shipped set), used by both sides")
    p.add_argument("--policy", help="arbitration policy YAML (default: shipped policy), journeyflow only")
    p.add_argument("--attributes", metavar="YAML", help="declared events, traits and computed attributes the "
                                                        "journeys' conditions use (as replay --attributes), both sides")
    p.add_argument("--segment_mapping", metavar="YAML", help="Segment event mapping of track.jsonl (as replay "
                                                             "--segment_mapping; default: the shipped one), both sides")
    p.add_argument("--link_rules", metavar="YAML", help="identity link rules (as replay --link_rules; default: the "
                                                        "built-in rules), journeyflow only")
    p.add_argument("--json", metavar="OUT.json", help="also write the full report as JSON (default: don't)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a file at --json that compare did not write (without it such a file is kept: "
                        "exit 2)")
    p.add_argument("--opt_in_baseline", action="store_true",
                   help="stricter automation baseline: channel tools send promos only to identifiers with an "
                        "explicit opt-in recorded for that same identifier")
    p.add_argument("--work_dir", metavar="DIR", help="keep journeyflow's replay output (topics/, tables/) here "
                                                      "(default: a temporary directory, removed)")
    hyphen_aliases(p, "--opt_in_baseline", "--work_dir")


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Compare and print the report (and write the JSON when asked; a progress line on a terminal); returns 0.
    Output paths are checked first (:func:`~journeyflow.cli.common.check_output_file`, ``check_output_dir``): exit 2 before any work."""
    if getattr(ns, "json", None):  # checked before the comparison runs, not after it
        check_output_file(ns.json, "--json")
        check_replaced_file(ns.json, "--json", is_compare_json, "a report compare wrote", ns.overwrite)
    if getattr(ns, "work_dir", None):
        check_output_dir(ns.work_dir, "--work_dir")
        _check_work_dir(ns.work_dir)
    check_input_dir(ns.input)
    from journeyflow.analytics.compare import compare
    from journeyflow.cli.progress import Ticker, count_input_records
    records, _ = count_input_records(ns.input)
    with Ticker("compare", lambda: f"baseline and journeyflow over {records:,} input records"):
        report = compare(ns.input, journeys=ns.journeys, policy=ns.policy, work_dir=getattr(ns, "work_dir", None),
                         opt_in_baseline=getattr(ns, "opt_in_baseline", False),
                         attributes=getattr(ns, "attributes", None), segment_mapping=getattr(ns, "segment_mapping", None),
                         link_rules=getattr(ns, "link_rules", None))
    if getattr(ns, "work_dir", None):
        _mark_work_dir(ns.work_dir)
    print(report.render())
    if getattr(ns, "json", None):
        with open(ns.json, "w") as f:
            json.dump(report.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"wrote {ns.json}", file=sys.stderr)
    return 0


#: Keys every ``--json`` report of compare holds (``CompareReport.to_dict``): a file with them is compare's own.
_JSON_KEYS = frozenset({"automation", "journeyflow", "unnecessary", "input"})


def is_compare_json(path: "os.PathLike[str]") -> bool:
    """True when ``path`` holds a JSON object with the keys of compare's ``--json`` report (a rerun replaces it)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and _JSON_KEYS <= data.keys()


#: The file compare leaves in its ``--work_dir``: a folder holding it may be replaced by the next compare.
WORK_DIR_MARKER = ".journeyflow-compare"


def _check_work_dir(path: str) -> None:
    """A ``--work_dir`` that holds files must be one compare wrote before (:data:`WORK_DIR_MARKER`): compare replays
    into it with overwrite, so a replay output given there by mistake (``--work_dir out``) was replaced without a
    word, its ``report.html`` left describing the replaced outputs.  UserError (exit 2) otherwise."""
    from pathlib import Path

    from journeyflow.config.errors import UserError
    p = Path(path)
    if p.is_dir() and any(p.iterdir()) and not (p / WORK_DIR_MARKER).exists():
        raise UserError(f"--work_dir {path} is not empty and compare did not write it: compare replaces topics/, "
                        f"tables/ and run.json there; give a new or empty folder")


def _mark_work_dir(path: str) -> None:
    """Mark ``path`` as compare's work folder; remove the ``report.html`` journeyflow report wrote there (it
    reported the outputs just replaced) and say so."""
    from pathlib import Path

    from journeyflow.analytics.report import is_journeyflow_report
    p = Path(path)
    (p / WORK_DIR_MARKER).write_text("journeyflow compare's work folder: replaced by the next compare\n")
    if is_journeyflow_report(p / "report.html"):
        (p / "report.html").unlink()
        print(f"compare: removed {p / 'report.html'}: it reported the replaced outputs", file=sys.stderr)
