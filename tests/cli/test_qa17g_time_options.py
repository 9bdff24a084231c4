"""qa17g: the time options of the CLI say the same thing the same way.

- ``validate --min_ts X`` alone printed "journeyflow validate: give both --min_ts and --max_ts, or neither" without
  the "error:" every other usage error has, and the rule was not in ``--help``;
- ``generate --start 2026-10-01`` (no offset) was silently read as UTC while its help said "with a UTC offset" and
  ``replay --until`` refuses that same value (exit 2): now it is refused too, naming the fix."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


def test_one_validate_bound_alone_is_a_usage_error_saying_error(tmp_path, capsys):
    (tmp_path / "tables").mkdir()
    for flag, other in (("--min_ts", "--max_ts"), ("--max_ts", "--min_ts")):
        assert main(["validate", str(tmp_path), flag, "2026-10-05T00:00:00Z"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("journeyflow validate: error: "), err
        assert flag in err[0] and other in err[0], err


def test_validate_help_states_both_or_neither(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    assert " ".join(capsys.readouterr().out.split()).count("both or neither") == 2


@pytest.mark.parametrize("value", ["2026-10-01", "2026-10-01T00:00:00", "2026-10-01 08:30"])
def test_generate_start_without_offset_is_refused_as_replay_until_is(tmp_path, capsys, value):
    out = tmp_path / "gen"
    with pytest.raises(SystemExit) as e:
        main(["generate", "--out", str(out), "--customers", "3", "--days", "1", "--start", value])
    assert e.value.code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "--start" in err and "no UTC offset" in err and "Z" in err, err
    # the same value is refused by replay --until
    assert main(["replay", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--until", value]) == 2
    assert "UTC offset" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["2026-10-01T00:00:00Z", "2026-10-01T00:00:00+02:00"])
def test_generate_start_with_offset_is_read(tmp_path, value):
    assert main(["generate", "--out", str(tmp_path / "g"), "--customers", "3", "--days", "1", "--start", value]) == 0


@pytest.mark.parametrize("argv", [["OUT"], ["OUT", "SELECT 1", "--example", "sends_per_day"],
                                  ["OUT", "--example", "sends_per_dya"]])
def test_query_usage_errors_say_error_too(tmp_path, capsys, argv):
    """The sibling: ``journeyflow query`` printed its usage errors without "error:" either."""
    (tmp_path / "tables").mkdir()
    assert main(["query", *[str(tmp_path) if a == "OUT" else a for a in argv]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("journeyflow query: error: "), err
