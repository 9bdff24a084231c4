"""qa11d: ``journeyflow query`` usage a data engineer meets in scripts.

* An empty SQL argument (``journeyflow query out "$SQL"`` with the variable unset) printed ``(no result)`` and
  exited 0, as if a query had run; now it is the usage error of no SQL (exit 2, one line).
* A table that does not exist got DuckDB's guess among its own catalog ("Did you mean "pg_sequences"?", on a
  second line); now one line naming the views a query can read (and the closest one).
* ``--list_examples`` printed the first comment *line* of each example, cut mid-sentence ("… first 'entered' row):
  customers"); now it prints the example's first sentence, whole."""
from __future__ import annotations

import json

import pytest

from journeyflow.analytics.query import EXAMPLE_QUERIES
from journeyflow.cli import main

WEB = {"event_id": "w1", "ts": "2026-10-01T10:00:00Z", "anonymous_id": "a1", "type": "page_view"}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa11d_query")
    (root / "in").mkdir()
    (root / "in" / "web.jsonl").write_text(json.dumps(WEB) + "\n")
    assert main(["replay", "--input", str(root / "in"), "--output", str(root / "out")]) == 0
    return root / "out"


@pytest.mark.parametrize("sql", ["", "   ", "\n\t"])
def test_an_empty_sql_is_a_usage_error(out, capsys, sql):
    capsys.readouterr()
    assert main(["query", str(out), sql]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and len(cap.err.strip().splitlines()) == 1 and "SQL" in cap.err


def test_list_examples_gives_each_first_sentence_whole(capsys):
    assert main(["query", "--list_examples"]) == 0
    descriptions = []
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith(" "):
            descriptions.append("")
        else:
            descriptions[-1] = (descriptions[-1] + " " + line.strip()).strip()
    assert len(descriptions) == len(EXAMPLE_QUERIES)
    for d in descriptions:
        assert d.endswith((".", "?")) and d.count("(") == d.count(")"), d


@pytest.mark.parametrize("name,hint", [("nosuch", None), ("decision", "decisions"), ("dead_letters", "dead_letter")])
def test_an_unknown_table_names_the_views(out, capsys, name, hint):
    capsys.readouterr()
    assert main(["query", str(out), f"SELECT * FROM {name}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pg_" not in err[0] and "decisions" in err[0] and "field_warnings" in err[0]
    assert hint is None or f"did you mean {hint}?" in err[0]
