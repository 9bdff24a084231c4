"""``journeyflow replay`` of a folder whose stream files hold no record (an empty export, a file truncated by a
failed copy) (QA round 9): the summary was all zeros and exit 0 without a word, and the report of it reads as a
run where nothing happened.  Now a warning on stderr says no record was read (exit 0: the accounting holds)."""
from __future__ import annotations

from journeyflow.cli import main


def test_an_input_without_records_is_warned(tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "web.jsonl").write_text("\n")
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "warning: no record was read" in err and str(inp) in err


def test_an_input_with_records_is_not(tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "web.jsonl").write_text('{"event_id": "w1", "ts": "2026-10-01T10:00:00Z", "anonymous_id": "a1", '
                                   '"type": "page_view"}\n')
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out")]) == 0
    assert "no record was read" not in capsys.readouterr().err
