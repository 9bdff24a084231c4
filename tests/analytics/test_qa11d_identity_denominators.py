"""qa11d: ``score-identity`` gives its rates with their denominators.

Before: "pairwise precision 1.0000 (false pairs 0)" with no count of the pairs linked, so a run that linked
nothing at all (precision is 1 by convention with no predicted pair) read as a perfect one, and "recall 0.8519
(missed pairs 232)" left the true pairs to be worked out.  Now each rate says "of N" pairs (linked, or true),
and a rate with no pair to measure says so instead of a bare 1.0000."""
from __future__ import annotations

from journeyflow.analytics.identity_score import IdentityScore
from journeyflow.stages.identity.score import Score


def _score(all_: Score, linkable: Score) -> IdentityScore:
    return IdentityScore(all_, linkable, identifiers=10, persons=4, refused_links=0, refused_shared=0,
                         shared_identifiers=0, shared_merged_persons=0)


def test_rates_name_their_pairs():
    text = _score(Score(0.9, 0.75, 9, 1, 3), Score(1.0, 1.0, 9, 0, 0)).render()
    precision = next(line for line in text.splitlines() if line.startswith("pairwise precision"))
    recall = next(line for line in text.splitlines() if line.startswith("pairwise recall"))
    assert "1 of 10 pairs linked" in precision
    assert "3 of 12 true pairs" in recall


def test_nothing_linked_is_not_a_perfect_precision():
    text = _score(Score(1.0, 0.0, 0, 0, 5), Score(1.0, 0.0, 0, 0, 5)).render()
    precision = next(line for line in text.splitlines() if line.startswith("pairwise precision"))
    assert "1.0000" not in precision and "no pair linked" in precision
    det = next(line for line in text.splitlines() if line.startswith("deterministic links"))
    assert "no pair linked" in det
