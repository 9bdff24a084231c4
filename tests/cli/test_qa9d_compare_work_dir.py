"""``journeyflow compare --work_dir DIR`` where DIR holds a replay output (QA round 9: "keep journeyflow's replay
output here", given the user's own ``out``): compare replayed into it with overwrite, so that output was replaced
without a word and its ``report.html`` kept describing the replaced figures.  Now a non-empty folder compare did not
write is refused before any work (exit 2); compare's own folder is reused, and a report there is removed."""
from __future__ import annotations

import json

import pytest

from journeyflow.cli import main

WEB = {"event_id": "w1", "ts": "2026-10-01T10:00:00Z", "anonymous_id": "a1", "type": "page_view"}


@pytest.fixture()
def inp(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "web.jsonl").write_text(json.dumps(WEB) + "\n")
    return d


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_replay_output_is_not_taken_as_the_work_folder(inp, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["replay", "--input", str(inp), "--output", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    before = _files(out)
    assert main(["compare", "--input", str(inp), "--work_dir", str(out)]) == 2
    assert "--work_dir" in capsys.readouterr().err
    assert _files(out) == before


def test_compares_own_folder_is_reused_and_a_stale_report_removed(inp, tmp_path, capsys):
    wd = tmp_path / "wd"
    assert main(["compare", "--input", str(inp), "--work_dir", str(wd)]) == 0
    assert main(["report", str(wd)]) == 0
    assert (wd / "report.html").exists()
    capsys.readouterr()
    assert main(["compare", "--input", str(inp), "--work_dir", str(wd)]) == 0
    assert not (wd / "report.html").exists() and "removed" in capsys.readouterr().err
    assert (wd / "tables").is_dir()
