"""``journeyflow query OUT --format csv "SQL"`` (options between OUT and the SQL, QA round 9): argparse had matched
the optional SQL positional as absent when it read OUT, so the SQL was "unrecognized arguments: SELECT …" (exit 2);
only ``query OUT "SQL" --format csv`` worked.  Now a word left over for an empty optional positional fills it."""
from __future__ import annotations

import pytest

from journeyflow.analytics.tables import write_table
from journeyflow.cli import main
from journeyflow.model.tables import TABLES


@pytest.fixture()
def out(tmp_path):
    for t in TABLES:
        write_table(tmp_path / "out", t, [])
    return tmp_path / "out"


@pytest.mark.parametrize("argv", [
    ["{out}", "--format", "csv", "SELECT 41 + 1 AS answer"],
    ["--format", "csv", "{out}", "SELECT 41 + 1 AS answer"],
    ["{out}", "SELECT 41 + 1 AS answer", "--format", "csv"],
    ["{out}", "--max_rows", "5", "--format", "csv", "SELECT 41 + 1 AS answer"],
])
def test_the_sql_may_follow_options(out, capsys, argv):
    assert main(["query", *(a.format(out=out) for a in argv)]) == 0
    assert capsys.readouterr().out.split() == ['"answer"', "42"]


def test_a_word_too_many_is_still_an_error(out, capsys):
    with pytest.raises(SystemExit) as e:
        main(["query", str(out), "--format", "csv", "SELECT 1", "extra"])
    assert e.value.code == 2 and "unrecognized arguments: extra" in capsys.readouterr().err
