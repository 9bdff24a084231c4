"""``journeyflow report`` on an OUT whose tables/ lacks some tables (a copy that lost one, an older release's
output): the report was written with those sections empty or zero and exit 0, without a word; each missing table
is now named in one warning line on stderr (the report is still written from the others)."""
from __future__ import annotations

from pathlib import Path

import pytest

from journeyflow.cli import main
from journeyflow.model.tables import TABLES




def _fake_tables(root: Path, keep: list[str]) -> None:
    for t in keep:
        (root / "tables" / t).mkdir(parents=True)


def test_missing_tables_are_named(tmp_path, capsys, monkeypatch):
    import journeyflow.analytics.report as report
    monkeypatch.setattr(report, "write_report", lambda out, path=None: str(Path(out) / "report.html"))
    _fake_tables(tmp_path, [t for t in TABLES if t not in ("decisions", "field_warnings")])
    assert main(["report", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decisions" in err[0] and "field_warnings" in err[0] and "journey_steps" not in err[0]


def test_a_complete_out_gets_no_warning(tmp_path, capsys, monkeypatch):
    import journeyflow.analytics.report as report
    monkeypatch.setattr(report, "write_report", lambda out, path=None: str(Path(out) / "report.html"))
    _fake_tables(tmp_path, list(TABLES))
    assert main(["report", str(tmp_path)]) == 0
    assert capsys.readouterr().err.strip() == ""
