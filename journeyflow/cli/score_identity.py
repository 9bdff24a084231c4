"""``journeyflow score-identity``: pairwise precision/recall of the resolved identities against the generator's
ground truth (:func:`journeyflow.analytics.identity_score.score_output`).

Exit 1 when ``--min_precision`` / ``--min_recall`` (deterministic links) is not met, or nothing measures it (no pair
linked / no true pair: the score would be a vacuous 1.0), else 0."""
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
                   help="exit 1 below this precision of the deterministic links (the 'deterministic links' "
                        "line, not the pairwise precision over all ground truth; default: no minimum)")
    p.add_argument("--min_recall", type=fraction(), default=None, metavar="F",
                   help="exit 1 below this recall of the deterministic links (the 'deterministic links' line, "
                        "not the pairwise recall over all ground truth; default: no minimum)")
    hyphen_aliases(p, "--min_precision", "--min_recall")


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Print the score; 1 below a given minimum or when nothing measures it, else 0.  Exit 2 before scoring when ``--input`` has no ground
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
    d = sc.linkable
    # a minimum nothing measures is not met: with no pair linked the precision is vacuous (1.0), with no true pair
    # the recall; a gate on it must not pass a replay that linked nothing
    unmeasured = [f"--min_{name}: no {what}, so nothing measures the {name}"
                  for name, given, pairs, what in (("precision", ns.min_precision, d.pairs_tp + d.pairs_fp,
                                                    "pair linked"),
                                                   ("recall", ns.min_recall, d.pairs_tp + d.pairs_fn, "true pair"))
                  if given is not None and not pairs]
    for problem in unmeasured:
        print(f"journeyflow score-identity: {problem} (exit 1)", file=sys.stderr)
    bad = False
    # the figure each minimum checks, named: the deterministic links' (the pairwise lines above, over all ground
    # truth, devices that never log in included, are not gated: "pairwise recall 0.8549" then exit 0 read as a
    # gate that had passed a figure below it)
    for name, given, value, pairs in (("precision", ns.min_precision, d.precision, d.pairs_tp + d.pairs_fp),
                                      ("recall", ns.min_recall, d.recall, d.pairs_tp + d.pairs_fn)):
        if given is None or not pairs:
            continue
        below = value < given
        bad = bad or below
        print(f"--min_{name} {given:g} checks the deterministic links' {name}: {value:.4f} "
              + ("is below it (exit 1)" if below else "meets it")
              + f" (not the pairwise {name} over all ground truth)")
    return 1 if bad or unmeasured else 0
