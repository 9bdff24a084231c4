"""``journeyflow query`` on an OUT whose tables/ lacks a table the query reads (QA round 9): the missing table read
as an empty one, so ``--example sends_per_day`` on an output without ``decisions`` printed "(0 rows)" and exit 0
without a word (``journeyflow report`` already warned).  Now one stderr line names each missing table the query
reads; the query still runs (exit 0), and a query that does not read it gets no warning."""
from __future__ import annotations

import pytest

from journeyflow.analytics.tables import write_table
from journeyflow.cli import main
from journeyflow.model.tables import TABLES


@pytest.fixture()
def partial(tmp_path):
    out = tmp_path / "out"
    for t in TABLES:
        if t != "decisions":
            write_table(out, t, [])
    return out


def test_an_example_on_a_missing_table_names_it(partial, capsys):
    assert main(["query", str(partial), "--example", "sends_per_day"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decisions" in err[0] and "warning" in err[0]


def test_sql_naming_a_missing_table_in_any_case_is_warned(partial, capsys):
    assert main(["query", str(partial), "SELECT count(*) FROM Decisions"]) == 0
    assert "decisions" in capsys.readouterr().err


def test_a_query_that_does_not_read_it_gets_no_warning(partial, capsys):
    assert main(["query", str(partial), "SELECT count(*) FROM journey_steps"]) == 0
    assert capsys.readouterr().err.strip() == ""
