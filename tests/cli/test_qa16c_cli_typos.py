"""qa16c (a newcomer's trial): a misspelled required option (``replay --inpt DIR``) got only "the following
arguments are required: --input", the typo not named; ``--overwite`` or ``--runer`` got "did you mean".  Now the
unknown flag is named first, with its fix, whatever else is missing."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


@pytest.mark.parametrize("argv, typo, fix", [
    (["replay", "--inpt", "in", "--output", "o"], "--inpt", "--input"),
    (["replay", "--input_dir=in", "--output", "o"], "--input_dir", "--input"),
    (["replay", "--outptu", "o", "--input", "in"], "--outptu", "--output"),
    (["score-identity", "--inpt", "in", "--output", "o"], "--inpt", "--input"),
])
def test_a_misspelled_required_option_is_named_with_its_fix(argv, typo, fix, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and typo in err and f"did you mean {fix}?" in err and "required" in err, err
    assert not (tmp_path / "o").exists()


def test_a_beam_option_beside_a_missing_required_one_is_not_called_unknown(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["replay", "--runner", "DirectRunner", "--output", "o"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--input" in err and "unrecognized" not in err, err
