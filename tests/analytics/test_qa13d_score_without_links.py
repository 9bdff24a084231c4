"""qa13d: ``journeyflow score-identity`` on a replay that linked no identifier.

Before: a replay whose ``identity_links`` table holds no row (only its ``_schema.parquet``: every record after
``--until``, an empty input, a population of anonymous visitors) made ``score-identity`` fail with pyarrow's
``No match for FieldRef.Name(identifier_a) in __fragment_index …`` (exit 2, no score): it read the table without
its schema.  Now it reads the table as every analyst tool does (``analytics.tables.read_table``) and scores it:
nothing linked, recall 0 with its denominator, precision "no pair linked"."""
from __future__ import annotations

import pytest

from journeyflow.analytics.identity_score import score_output
from journeyflow.cli import main


@pytest.fixture(scope="module")
def no_links(tmp_path_factory):
    root = tmp_path_factory.mktemp("score_empty")
    data, out = root / "data", root / "out"
    assert main(["generate", "--out", str(data), "--customers", "15", "--days", "2"]) == 0
    # every record is after this horizon: all dead letters, no identity link applied
    # (every record after the horizon is a dead letter: accepted with --max_dead_letter_rate 1, else exit 1)
    assert main(["replay", "--input", str(data), "--output", str(out), "--until", "2000-01-02T00:00:00Z",
                 "--max_dead_letter_rate", "1"]) == 0
    assert not list((out / "tables" / "identity_links").glob("date=*"))
    return data, out


def test_a_replay_without_links_scores_as_nothing_linked(no_links):
    data, out = no_links
    sc = score_output(data, out)
    assert sc.identifiers > 0 and sc.refused_links == 0
    assert sc.score.pairs_tp == 0 and sc.score.pairs_fp == 0 and sc.score.pairs_fn > 0


def test_the_command_prints_the_score_and_exits_0(no_links, capsys):
    data, out = no_links
    capsys.readouterr()
    assert main(["score-identity", "--input", str(data), "--output", str(out)]) == 0
    printed = capsys.readouterr()
    assert "no pair linked" in printed.out and "FieldRef" not in printed.err


def test_a_precision_minimum_is_not_met_by_a_replay_that_linked_nothing(no_links, capsys):
    """With no pair linked, the precision is vacuous (1.0): ``--min_precision 0.99`` passed (exit 0) a replay that
    resolved no identity at all.  Now a minimum nothing measures fails, saying so."""
    data, out = no_links
    capsys.readouterr()
    assert main(["score-identity", "--input", str(data), "--output", str(out), "--min_precision", "0.99"]) == 1
    assert "--min_precision: no pair linked" in capsys.readouterr().err


def test_a_tables_path_that_is_a_file_is_named_so(tmp_path):
    """``OUT/tables`` a file (not the replay's folder) was reported as "does not exist", sending the user to look for
    a missing folder; it says what it is."""
    from journeyflow.analytics.tables import read_table
    (tmp_path / "tables").write_text("not a folder")
    with pytest.raises(FileNotFoundError, match="tables is not a folder"):
        read_table(tmp_path, "decisions")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_table(tmp_path / "elsewhere", "decisions")
