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


MAPPING = """\
version: 1
events:
  Order Completed:
    stream: orders
    type: order_placed
    attrs:
      order_id: {from: [properties.order_id], as: string}
"""
SIGNED_IN = """\
version: 1
journeys:
  - id: signin
    category: marketing
    priority: 100
    entry: {event: Signed In, stream: track}
    steps:
      - id: mail
        send: {channel: email, content_id: hello}
"""


def test_render_takes_the_segment_mapping_validate_takes(tmp_path, capsys):
    """A journey on a Segment event the run's own mapping leaves on ``track`` (the shipped one maps Signed In to
    web login): ``validate --segment_mapping`` accepted it, ``render`` had no such option (exit 2) and without it
    refused the journey."""
    (tmp_path / "map.yaml").write_text(MAPPING)
    (tmp_path / "j.yaml").write_text(SIGNED_IN)
    mapping = ["--segment_mapping", str(tmp_path / "map.yaml")]
    assert main(["journeys", "validate", str(tmp_path / "j.yaml"), *mapping]) == 0
    assert main(["journeys", "render", str(tmp_path / "j.yaml"), "--out", str(tmp_path / "j.html"), *mapping]) == 0
    assert "signin" in (tmp_path / "j.html").read_text()
