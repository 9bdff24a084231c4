"""qa13d: ``journeyflow query --format csv|json`` writes every value DuckDB can return in a form other tools read.

Before: an interval (``max(decided_at) - min(decided_at)``, the time from entry to goal) made ``--format csv``
fail with pyarrow's traceback ("Unsupported cast from month_day_nano_interval to utf8", exit 1), came out of
``--format json`` as a bare ``[months, days, nanoseconds]`` list and in the table as ``MonthDayNano(months=0, …``;
``--format json`` wrote ``NaN`` / ``Infinity`` for ``x / 0`` (not JSON: ``jq`` and ``JSON.parse`` refuse the whole
output) and a ``HUGEINT`` (``sum`` of a BIGINT) as a rounded float.  Now intervals are ISO-8601 durations in every
format, non-finite numbers are ``null`` in JSON, whole decimals exact integers."""
from __future__ import annotations

import csv
import io
import json

import pytest

from journeyflow.cli import main

SQL = ("SELECT INTERVAL 1 DAY + INTERVAL 2 HOUR + INTERVAL 30 MINUTE AS took, 1.0 / 0 AS ratio, "
       "'nan'::DOUBLE AS nothing, 12345678901234567891::HUGEINT AS big, [1.0 / 0, 2.5] AS ratios, "
       "{'gap': INTERVAL 90 SECOND} AS detail")


@pytest.fixture()
def out(tmp_path):
    (tmp_path / "tables").mkdir()
    return tmp_path


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_is_strict_json_with_durations_and_exact_integers(out, capsys):
    assert main(["query", str(out), SQL, "--format", "json"]) == 0
    row = _strict(capsys.readouterr().out)[0]
    assert row == {"took": "P1DT2H30M", "ratio": None, "nothing": None, "big": 12345678901234567891,
                   "ratios": [None, 2.5], "detail": {"gap": "PT1M30S"}}


def test_csv_writes_an_interval_column(out, capsys):
    assert main(["query", str(out), SQL, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["took"] == "P1DT2H30M"
    assert json.loads(rows[0]["detail"]) == {"gap": "PT1M30S"}
    assert json.loads(rows[0]["ratios"]) == [None, 2.5]


def test_the_table_shows_a_duration(out, capsys):
    assert main(["query", str(out), SQL]) == 0
    assert "P1DT2H30M" in capsys.readouterr().out


@pytest.mark.parametrize("sql, iso", [
    ("INTERVAL 0 SECOND", "PT0S"), ("INTERVAL 14 MONTH", "P1Y2M"), ("- INTERVAL 1 DAY", "P-1D"),
    ("INTERVAL 1500 MILLISECOND", "PT1.5S"), ("TIMESTAMP '2026-10-02 00:00' - TIMESTAMP '2026-10-01 12:00'", "PT12H"),
])
def test_iso_durations(out, capsys, sql, iso):
    assert main(["query", str(out), f"SELECT {sql} AS d", "--format", "json"]) == 0
    assert _strict(capsys.readouterr().out)[0]["d"] == iso


def test_iso_duration_of_a_timedelta():
    from datetime import timedelta

    from journeyflow.analytics.query import iso_duration
    assert iso_duration(timedelta(days=1, hours=1, seconds=1, microseconds=5)) == "P1DT1H1.000005S"
    assert iso_duration(timedelta(seconds=-1)) == "PT-1S"


def test_a_bare_at_column_gets_the_hint_to_quote_it(out, capsys):
    """``SELECT kind, at FROM journey_steps``: DuckDB reads ``at`` as a keyword and complains about "from" (a
    newcomer's query); the error line says to quote it.  Quoted, the query runs."""
    from journeyflow.analytics.tables import write_table
    write_table(out, "journey_steps", [])
    assert main(["query", str(out), "SELECT kind, at FROM journey_steps"]) == 2
    err = capsys.readouterr().err
    assert 'must be quoted: "at"' in err and len(err.strip().splitlines()) <= 4
    assert main(["query", str(out), 'SELECT kind, "at" FROM journey_steps']) == 0
    assert main(["query", str(out), "SELECT kind FROM journey_steps WHERE"]) == 2
    assert "must be quoted" not in capsys.readouterr().err  # (another syntax error: no such hint)


def test_csv_and_json_write_a_time_alike(out, capsys):
    """A newcomer's CSV showed ``2026-10-01 00:17:09.823000Z`` where the JSON output had ``...T00:17:09.823000Z``:
    one time format in both."""
    sql = "SELECT TIMESTAMPTZ '2026-10-01 00:17:09.823+00' AS at_ms, TIMESTAMPTZ '2026-10-01 00:17:09+00' AS at_s"
    assert main(["query", str(out), sql, "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert main(["query", str(out), sql, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].replace('"', "").split(",") == [row["at_ms"], row["at_s"]]
    assert "T00:17:09" in row["at_ms"]
