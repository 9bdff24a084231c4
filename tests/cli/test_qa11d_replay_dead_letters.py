"""qa11d: a replay's exit code and its dead letters, for a scheduled job.

A replay whose every record was a dead letter (an export in the wrong format, a renamed CSV) exited 0 with nothing
but the summary's figures to say so: a nightly job went on with empty tables.  Now such a run says it on stderr
(one warning line), and ``--max_dead_letter_rate F`` makes a replay whose dead letters exceed that share of the
records read exit 1 ("a check failed", as ``validate``), its outputs written."""
from __future__ import annotations

import json

import pytest

from journeyflow.cli import main

GOOD = {"event_id": "w1", "ts": "2026-10-01T10:00:00Z", "anonymous_id": "a1", "type": "page_view"}


def _input(tmp_path, good: int, bad: int):
    d = tmp_path / "in"
    d.mkdir()
    lines = [json.dumps({**GOOD, "event_id": f"w{i}"}) for i in range(good)] + ["id,ts,type"] * bad
    (d / "web.jsonl").write_text("\n".join(lines) + "\n")
    return d


def test_every_record_a_dead_letter_is_said_and_exits_1(tmp_path, capsys):
    """(qa16c: it exited 0 with the warning, and a newcomer's CSV renamed web.jsonl "succeeded" in a CI job; now
    exit 1, the outputs written; ``--max_dead_letter_rate 1`` accepts it, a warning then)"""
    d = _input(tmp_path, 0, 3)
    assert main(["replay", "--input", str(d), "--output", str(tmp_path / "out")]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "dead letter" in line]
    assert len(err) == 1 and "every record" in err[0] and "3" in err[0] and "exit 1" in err[0]
    assert (tmp_path / "out" / "tables").is_dir()
    assert main(["replay", "--input", str(d), "--output", str(tmp_path / "o2"), "--max_dead_letter_rate", "1"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "dead letter" in line]
    assert len(err) == 1 and "warning" in err[0] and "exit 1" not in err[0]
    (tmp_path / "g").mkdir()
    good = _input(tmp_path / "g", 1, 3)  # one record decided: exit 0 as before
    assert main(["replay", "--input", str(good), "--output", str(tmp_path / "o3")]) == 0


def test_a_share_of_dead_letters_over_the_limit_exits_1(tmp_path, capsys):
    d = _input(tmp_path, 3, 1)  # 1 of 4 records: 25 %
    assert main(["replay", "--input", str(d), "--output", str(tmp_path / "o1"), "--max_dead_letter_rate", "0.2"]) == 1
    err = capsys.readouterr().err
    assert "--max_dead_letter_rate" in err and "1 of 4" in err
    assert (tmp_path / "o1" / "tables").is_dir()  # the outputs are written all the same
    assert main(["replay", "--input", str(d), "--output", str(tmp_path / "o2"), "--max_dead_letter_rate", "0.25"]) == 0
    with pytest.raises(SystemExit) as e:  # argparse: a usage error before any work
        main(["replay", "--input", str(d), "--output", str(tmp_path / "o3"), "--max_dead_letter_rate", "2"])
    assert e.value.code == 2 and not (tmp_path / "o3").exists()


def test_the_help_says_what_dead_letters_do_to_the_exit_code(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "a replay with dead letters too" in text and "--max_dead_letter_rate" in text
