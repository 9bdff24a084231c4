"""``journeyflow score-identity`` against an output it cannot be compared with (QA round 9).  Before: with another
``JOURNEYFLOW_HASH_KEY`` than the replay's, no email or phone of the ground truth matched and it printed recall
0.17 and exit 0 (with ``--min_recall`` exit 1: a "regression" that is a wrong key); the replay of other input files
was scored without a word; an input without ground truth said only ``No such file or directory``.  Now the key is
checked against ``run.json``'s ``hash_key_check`` and a missing ground truth or identity table are exit 2 with the
reason, other input files a warning."""
from __future__ import annotations

import shutil

import pytest

from journeyflow.cli import main


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    data, out = root / "data", root / "out"
    assert main(["generate", "--out", str(data), "--customers", "25", "--days", "3"]) == 0
    assert main(["replay", "--input", str(data), "--output", str(out)]) == 0
    return data, out


def test_the_replays_own_input_and_key_score_without_warning(replayed, capsys):
    data, out = replayed
    capsys.readouterr()
    assert main(["score-identity", "--input", str(data), "--output", str(out), "--min_precision", "0.99"]) == 0
    assert "warning: " not in capsys.readouterr().err.replace("JOURNEYFLOW_HASH_KEY is not set", "")


def test_another_hash_key_is_an_error_not_a_low_recall(replayed, capsys, monkeypatch):
    data, out = replayed
    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "not-the-replays-key-0123456789abcdef")
    code = main(["score-identity", "--input", str(data), "--output", str(out), "--min_recall", "0.5"])
    assert code == 2 and "JOURNEYFLOW_HASH_KEY" in capsys.readouterr().err


def test_other_input_files_are_named_in_a_warning(replayed, capsys, tmp_path):
    data, out = replayed
    other = tmp_path / "other"
    shutil.copytree(data, other)
    (other / "consent.jsonl").write_text("")
    assert main(["score-identity", "--input", str(other), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "consent.jsonl" in err and "web.jsonl" not in err


def test_an_input_without_ground_truth_says_what_is_needed(replayed, capsys, tmp_path):
    data, out = replayed
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(data / "web.jsonl", mine / "web.jsonl")
    assert main(["score-identity", "--input", str(mine), "--output", str(out)]) == 2
    assert "ground_truth.jsonl" in capsys.readouterr().err
