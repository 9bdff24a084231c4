"""Scoring a clustering against ground truth: pairwise precision and recall, counted in O(n)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["Score", "score_clusters"]


class Score(NamedTuple):
    """Pairwise scores: ``precision`` and ``recall`` in [0, 1], and the true / false / missed pair counts."""

    precision: float
    recall: float
    pairs_tp: int
    pairs_fp: int
    pairs_fn: int

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0.0 when both are 0)."""
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score_clusters(predicted: Mapping[str, Any], truth: Mapping[str, Any]) -> Score:
    """Pairwise precision/recall of a clustering against ground truth, in O(n).

    The universe is the keys of ``truth``; a key missing from ``predicted`` counts as a predicted singleton and
    predicted keys without truth are ignored. Pairs are counted from cluster and intersection sizes
    (``sum C(n, 2)``), never enumerated. Precision (recall) is 1.0 when there are no predicted (true) pairs.
    """
    pred_sizes: Counter[Any] = Counter()
    truth_sizes: Counter[Any] = Counter()
    both: Counter[tuple[Any, Any]] = Counter()
    missing = object()
    for key, person in truth.items():
        cluster = predicted.get(key, missing)
        if cluster is missing:
            cluster = (missing, key)
        pred_sizes[cluster] += 1
        truth_sizes[person] += 1
        both[(cluster, person)] += 1
    tp = sum(_pairs(n) for n in both.values())
    pred_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in truth_sizes.values())
    fp, fn = pred_pairs - tp, true_pairs - tp
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    return Score(precision, recall, tp, fp, fn)
