"""qa14d: ``journeyflow query`` writes intervals and times inside structs, lists and maps as it writes them alone.

Before: the table format printed a struct, list or map cell with Python's ``str``: an interval in it as
``MonthDayNano(months=0, days=29, nanose…`` and a time as ``datetime.datetime(2026, …`` (qa13d fixed top-level
intervals only); ``--format json`` and ``csv`` wrote an interval that is a map's value (``map {'a': INTERVAL 2
HOUR}``) as the bare list ``[0, 0, 7200000000000]``.  Now a nested value is one line of JSON in the table format,
with ISO-8601 durations and times (UTC as ``Z``), and map values are converted in every format."""
from __future__ import annotations

import csv
import io
import json

import pytest

from journeyflow.cli import main

SQL = ("SELECT {'d': INTERVAL 1 DAY + INTERVAL 2 HOUR, 't': TIMESTAMPTZ '2026-10-01 00:15:15+00'} AS s, "
       "[INTERVAL 90 SECOND] AS l, map {'a': INTERVAL 2 HOUR} AS m")


@pytest.fixture()
def out(tmp_path):
    (tmp_path / "tables").mkdir()
    return tmp_path


def test_the_table_format_writes_nested_intervals_and_times_as_iso(out, capsys):
    assert main(["query", str(out), SQL, "--max_rows", "5"]) == 0
    text = capsys.readouterr().out
    assert "MonthDayNano" not in text and "datetime" not in text
    row = text.splitlines()[2]
    assert '{"d": "P1DT2H", "t": "2026-10-01T00:15:15Z"}' in row
    assert '["PT1M30S"]' in row and '[["a", "PT2H"]]' in row


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_maps_interval_value_is_a_duration(out, capsys, fmt):
    assert main(["query", str(out), "SELECT map {'a': INTERVAL 2 HOUR} AS m", "--format", fmt]) == 0
    text = capsys.readouterr().out
    m = json.loads(text)[0]["m"] if fmt == "json" else json.loads(next(csv.DictReader(io.StringIO(text)))["m"])
    assert m == [["a", "PT2H"]]
