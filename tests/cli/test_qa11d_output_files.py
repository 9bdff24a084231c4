"""Commands that write one file (``report --path`` and its default ``OUT/report.html``, ``journeys render --out``,
``compare --json``) replaced whatever file was at that path without a word (QA round 11: ``journeyflow report out
--path in/orders.jsonl`` wrote HTML over an input file, exit 0).  Now a file there that the same command did not
write is refused before any work (exit 2, one line naming the path), unless ``--overwrite``; a file the command
wrote before (the rerun case) and an empty file are replaced as before."""
from __future__ import annotations

import json

import pytest

from journeyflow.cli import main

WEB = {"event_id": "w1", "ts": "2026-10-01T10:00:00Z", "anonymous_id": "a1", "type": "page_view"}
MINE = b'{"mine": 1}\n'


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa11d_files")
    inp = root / "in"
    inp.mkdir()
    (inp / "web.jsonl").write_text(json.dumps(WEB) + "\n")
    out = root / "out"
    assert main(["replay", "--input", str(inp), "--output", str(out)]) == 0
    return inp, out


def _refused(capsys, flag, path):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and str(path) in err[0] and "--overwrite" in err[0], err


@pytest.mark.parametrize("command", ["report", "render", "compare"])
def test_a_file_the_command_did_not_write_is_kept(replayed, tmp_path, capsys, command):
    inp, out = replayed
    target = tmp_path / "data.json"
    target.write_bytes(MINE)
    argv, flag = {"report": (["report", str(out), "--path", str(target)], "--path"),
                  "render": (["journeys", "render", "--out", str(target)], "--out"),
                  "compare": (["compare", "--input", str(inp), "--json", str(target)], "--json")}[command]
    capsys.readouterr()
    assert main(argv) == 2
    _refused(capsys, flag, target)
    assert target.read_bytes() == MINE
    assert main(argv + ["--overwrite"]) == 0
    assert target.read_bytes() != MINE


@pytest.mark.parametrize("command", ["report", "render", "compare"])
def test_the_commands_own_file_and_an_empty_file_are_replaced(replayed, tmp_path, command):
    inp, out = replayed
    target = tmp_path / "page"
    target.write_bytes(b"")
    argv = {"report": ["report", str(out), "--path", str(target)],
            "render": ["journeys", "render", "--out", str(target)],
            "compare": ["compare", "--input", str(inp), "--json", str(target)]}[command]
    assert main(argv) == 0
    first = target.read_bytes()
    assert first
    assert main(argv) == 0  # its own output: a rerun replaces it
    assert target.read_bytes()


def test_a_report_html_in_out_that_journeyflow_did_not_write_is_kept(replayed, capsys):
    _, out = replayed
    page = out / "report.html"
    page.write_text("<html>the team's own notes</html>")
    try:
        capsys.readouterr()
        assert main(["report", str(out)]) == 2
        _refused(capsys, "report", page)
        assert "own notes" in page.read_text()
    finally:
        page.unlink()
