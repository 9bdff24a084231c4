"""A Beam pipeline option with a value Beam refuses, given to ``replay`` or ``stream`` (QA round 9):
``--direct_num_workers two`` printed Beam's usage of every pipeline option (~100 lines) under the program name
``journeyflow`` before the error.  Now it is the command's usage and one error line naming the option, exit 2, as
for any other bad value, before any work."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


@pytest.mark.parametrize("cmd", [["replay", "--input", "in", "--output", "out"], ["stream"]])
@pytest.mark.parametrize("bad", [["--direct_num_workers", "two"], ["--direct_running_mode", "fast"]])
def test_a_bad_beam_option_value_is_one_error_line_of_the_command(cmd, bad, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main([*cmd, *bad])
    assert e.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert errors == [line for line in errors if line.startswith(f"journeyflow {cmd[0]}: error: argument {bad[0]}")]
    assert len(errors) == 1 and len(err.splitlines()) < 20  # the command's usage, not Beam's ~100 lines
    assert "--runner" not in err and not (tmp_path / "out").exists()
