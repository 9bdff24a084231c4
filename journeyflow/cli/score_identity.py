"""``journeyflow score-identity``: pairwise precision/recall of the resolved identities against the generator's
ground truth (:func:`journeyflow.analytics.identity_score.score_output`).

Exit 1 when ``--min-precision`` / ``--min-recall`` (deterministic links) is not met, else 0."""
from __future__ import annotations

import argparse

from journeyflow.cli.common import fraction, hyphen_aliases

HELP = "pairwise precision/recall of resolved identities against ground truth"


def add_args(p: argparse.ArgumentParser) -> None:
    """``--input DIR --output DIR [--min_precision F] [--min_recall F]`` (fractions in [0, 1]; the hyphenated
    spellings are deprecated)."""
    p.add_argument("--input", required=True, metavar="DIR", help="generator output (with ground_truth.jsonl)")
    p.add_argument("--output", required=True, metavar="DIR", help="replay output (tables/identity_links)")
    p.add_argument("--min_precision", type=fraction(), default=None, metavar="F",
                   help="exit 1 below this deterministic precision (default: no minimum)")
    p.add_argument("--min_recall", type=fraction(), default=None, metavar="F",
                   help="exit 1 below this deterministic recall (default: no minimum)")
    hyphen_aliases(p, "--min_precision", "--min_recall")


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Print the score; 1 below a given minimum, else 0.  Exit 2 before scoring when ``--input`` has no ground
    truth, ``--output`` no identity links, or the replay hashed with another ``JOURNEYFLOW_HASH_KEY``; a warning
    when ``--output`` is the replay of other input files (:func:`~journeyflow.analytics.identity_score.check_scorable`)."""
    import sys

    from journeyflow.analytics.identity_score import check_scorable, score_output
    from journeyflow.analytics.lookup import replay_hasher
    hasher = replay_hasher(ns.output, "US")
    for warning in check_scorable(ns.input, ns.output, hasher):
        print(f"journeyflow score-identity: warning: {warning}", file=sys.stderr)
    sc = score_output(ns.input, ns.output, hasher)
    print(sc.render())
    bad = (ns.min_precision is not None and sc.linkable.precision < ns.min_precision) or \
          (ns.min_recall is not None and sc.linkable.recall < ns.min_recall)
    return 1 if bad else 0
