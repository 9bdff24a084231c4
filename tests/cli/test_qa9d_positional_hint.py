"""The replay writes to ``--output OUT``; the commands that read an output take OUT without a flag (QA round 9).
``journeyflow report --out out`` / ``query --output out`` said only "unrecognized arguments: --out"; the error now
says the value is given without a flag, with the command's positionals."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


@pytest.mark.parametrize("argv, expected", [
    (["report", "--out", "o"], "OUT is given without a flag: journeyflow report OUT"),
    (["validate", "--output", "o"], "OUT is given without a flag: journeyflow validate OUT"),
    (["query", "--output", "o", "SELECT 1"], "OUT is given without a flag: journeyflow query OUT SQL"),
    (["query", "o", "--sql", "SELECT 1"], "SQL is given without a flag: journeyflow query OUT SQL"),
])
def test_a_flag_for_a_positional_says_how_to_give_it(argv, expected, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and expected in capsys.readouterr().err


def test_a_misspelled_flag_keeps_its_suggestion(capsys):
    with pytest.raises(SystemExit):
        main(["report", "o", "--pth", "x.html"])
    err = capsys.readouterr().err
    assert "did you mean --path?" in err and "without a flag" not in err
