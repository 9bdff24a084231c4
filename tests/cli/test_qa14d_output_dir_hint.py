"""qa14d: a folder inside a replay's output (the ``tables`` folder an analyst browses the Parquet files in, a
table's folder, a ``date=`` partition) given where the output directory is expected is named as such.

Before: ``journeyflow query OUT/tables "…"`` (and ``report``, ``validate``, ``score-identity --output``) said
"OUT/tables/tables does not exist: is OUT/tables a replay output directory?", which reads as if the output were
missing.  Now the message names the output directory to give instead."""
from __future__ import annotations

import pytest

from journeyflow.analytics.tables import write_table
from journeyflow.cli import main


@pytest.fixture()
def out(tmp_path):
    write_table(tmp_path / "out", "decisions", [])
    return tmp_path / "out"


@pytest.mark.parametrize("inside", ["tables", "tables/decisions"])
@pytest.mark.parametrize("command", [["query", "{dir}", "SELECT 1"], ["report", "{dir}"], ["validate", "{dir}"]])
def test_a_folder_inside_an_output_names_the_output(out, capsys, inside, command):
    argv = [a.format(dir=out / inside) for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"give {out}" in err and "a replay output directory?" not in err


def test_score_identity_names_the_output_too(out, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ground_truth.jsonl").write_text("")
    assert main(["score-identity", "--input", str(data), "--output", str(out / "tables")]) == 2
    assert f"give {out}" in capsys.readouterr().err


def test_a_folder_that_is_no_output_is_asked_about(tmp_path, capsys):
    assert main(["query", str(tmp_path), "SELECT 1"]) == 2
    assert f"is {tmp_path} a replay output directory?" in capsys.readouterr().err
