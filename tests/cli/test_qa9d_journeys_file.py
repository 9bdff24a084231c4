"""``journeyflow journeys validate|render FILE`` with a FILE that is not there (QA round 9): the error named
``--journeys nope.yaml``, an option these commands do not have (FILE is positional), so the user looked for a
flag they never typed.  Now it names the file as given."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


@pytest.mark.parametrize("cmd", [["journeys", "validate"], ["journeys", "render", "--out", "x.html"]])
def test_a_missing_journeys_file_is_named_as_given(cmd, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*cmd, "nope.yaml"]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml: no such file" in err and "--journeys" not in err
    assert not (tmp_path / "x.html").exists()


def test_a_folder_is_named_too(capsys, tmp_path):
    assert main(["journeys", "validate", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
