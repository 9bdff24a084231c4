"""``journeyflow replay --overwrite`` replaces topics/, tables/ and run.json; a ``report.html`` that
``journeyflow report`` wrote from the replaced outputs would describe a run that is gone, next to the new tables:
it is removed (and the replay says so); any other file in OUT, a report.html journeyflow did not write included,
is left alone (tests/beam/test_replay_output.py)."""
from __future__ import annotations

from journeyflow.analytics.report import is_journeyflow_report, write_report
from journeyflow.cli import main
from journeyflow.tools.generator import generate


def test_overwrite_removes_the_report_of_the_replaced_outputs(tmp_path, capsys):
    data, out = tmp_path / "in", tmp_path / "out"
    generate(30, 3, 7, data)
    assert main(["replay", "--input", str(data), "--output", str(out)]) == 0
    report = out / "report.html"
    write_report(out)
    assert is_journeyflow_report(report)
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["replay", "--input", str(data), "--output", str(out), "--overwrite"]) == 0
    assert not report.exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert f"removed {report}" in capsys.readouterr().err
    assert main(["report", str(out)]) == 0 and is_journeyflow_report(report)  # a new one for the new outputs


def test_a_failed_overwrite_keeps_the_report(tmp_path, capsys):
    data, out = tmp_path / "in", tmp_path / "out"
    generate(20, 2, 7, data)
    assert main(["replay", "--input", str(data), "--output", str(out)]) == 0
    write_report(out)
    before = (out / "report.html").read_bytes()
    assert main(["replay", "--input", str(data), "--output", str(out), "--overwrite",
                 "--journeys", str(tmp_path / "missing.yaml")]) != 0
    assert (out / "report.html").read_bytes() == before


def test_is_journeyflow_report(tmp_path):
    p = tmp_path / "report.html"
    assert not is_journeyflow_report(p)
    p.write_text("<html>mine</html>")
    assert not is_journeyflow_report(p)
