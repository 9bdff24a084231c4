"""qa17g: ``score-identity --min_recall 0.9`` exited 0 while printing "pairwise recall 0.8549": the minimum checks
the deterministic links' recall (higher: pairs that co-occur in trusted events), a line the reader had to know to
look for.  The output now names the figure each minimum checked, its value, and whether it met it."""
from __future__ import annotations

import re

import pytest

from journeyflow.analytics.identity_score import score_output
from journeyflow.cli import main


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("score_gate")
    data, out = root / "data", root / "out"
    assert main(["generate", "--out", str(data), "--customers", "60", "--days", "4"]) == 0
    assert main(["replay", "--input", str(data), "--output", str(out)]) == 0
    return data, out, score_output(data, out)


def test_a_minimum_between_the_pairwise_and_the_deterministic_recall_names_the_figure_it_checked(scored, capsys):
    data, out, sc = scored
    assert sc.score.recall < sc.linkable.recall  # devices that never log in: the demo's case
    gate = (sc.score.recall + sc.linkable.recall) / 2
    capsys.readouterr()
    assert main(["score-identity", "--input", str(data), "--output", str(out), "--min_recall", f"{gate:.6f}"]) == 0
    printed = capsys.readouterr().out
    line = next((x for x in printed.splitlines() if x.startswith("--min_recall")), None)
    assert line is not None, printed
    assert "deterministic" in line and f"{sc.linkable.recall:.4f}" in line and "meets it" in line, line
    assert re.search(r"pairwise recall\s+" + re.escape(f"{sc.score.recall:.4f}"), printed)  # the other, still shown

