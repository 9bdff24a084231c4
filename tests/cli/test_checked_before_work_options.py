"""Option values a command could check at once are checked before any work, naming the option (siblings of
tests/cli/test_checked_before_work.py): ``--default_region`` must be a region ``phonenumbers`` knows -- a
misspelled one ran the whole replay and turned every phone number written without +CC into an
``invalid_identifier`` dead letter; a bad ``--until`` said only "'x' is not an ISO-8601 date-time"."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


def _never(what: str):
    def called(*_a, **_k):
        raise AssertionError(f"{what} ran although an option value was unusable")
    return called


@pytest.fixture
def no_work(monkeypatch):
    import journeyflow.pipelines.replay as replay
    import journeyflow.pipelines.stream as stream
    monkeypatch.setattr(replay, "run_replay", _never("replay"))
    monkeypatch.setattr(stream, "run_stream", _never("stream"))


@pytest.mark.parametrize("cmd", ["replay", "stream"])
@pytest.mark.parametrize("region", ["ZZ", "USA", ""])
def test_an_unknown_default_region_is_refused_before_the_pipeline(cmd, region, tmp_path, no_work, capsys):
    argv = [cmd, "--default_region", region]
    if cmd == "replay":
        argv += ["--input", str(tmp_path), "--output", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--default_region" in err[0] and "region" in err[0], err
    assert not (tmp_path / "out").exists()


def test_a_known_region_in_any_case_passes_the_check():
    from journeyflow.cli.common import phone_region
    assert phone_region("gb") == "gb" and phone_region("US") == "US"


@pytest.mark.parametrize("until", ["garbage", "2026-13-01T00:00:00Z"])
def test_a_bad_until_names_the_option(until, tmp_path, no_work, capsys):
    assert main(["replay", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--until", until]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--until" in err[0] and "end" in err[0], err


def test_the_until_help_says_later_events_are_dead_letters(capsys):
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    assert "timestamp_out_of_range" in " ".join(capsys.readouterr().out.split())
