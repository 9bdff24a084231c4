"""Output paths and option values a command could check at once are checked before any work (QA round 2 of issue
21): ``compare --json DIR`` ran the whole comparison (~25 s on 300 customers) and only then failed on the path;
``publish --rate -3`` looked for a Pub/Sub target first and rejected the rate after it; ``report --path`` built the
whole report before the path failed; ``replay --output file/x`` said "File exists: file".

Each case is run through the command line (``journeyflow.cli.main``) with the expensive step replaced by one that
fails the test if it is reached: exit 2, one line naming the option, and the work never started."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "web.jsonl"
    f.write_text("{}\n")
    return f


def _never(what: str):
    def called(*_a, **_k):
        raise AssertionError(f"{what} ran although its output path / option value was unusable")
    return called


def _bad_paths(tmp_path, a_file) -> dict[str, str]:
    return {"missing folder": str(tmp_path / "nowhere" / "x.out"), "a folder": str(tmp_path),
            "under a file": str(a_file / "x.out"), "unwritable": "/proc/journeyflow-x.out"}


def test_compare_checks_json_and_work_dir_before_comparing(tmp_path, a_file, monkeypatch, capsys):
    import journeyflow.analytics.compare as compare
    monkeypatch.setattr(compare, "compare", _never("compare"))
    for case, path in _bad_paths(tmp_path, a_file).items():
        assert main(["compare", "--input", str(tmp_path), "--json", path]) == 2, case
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--json" in err[0], (case, err)
    for path in (str(a_file), str(a_file / "w"), "/proc/journeyflow-w"):
        assert main(["compare", "--input", str(tmp_path), "--work_dir", path]) == 2, path
        assert "--work_dir" in capsys.readouterr().err


def test_report_checks_path_before_building(tmp_path, a_file, monkeypatch, capsys):
    import journeyflow.analytics.report as report
    monkeypatch.setattr(report, "build_report", _never("build_report"))
    bad = _bad_paths(tmp_path, a_file)
    del bad["missing folder"]  # report creates missing folders
    for case, path in bad.items():
        assert main(["report", str(tmp_path), "--path", path]) == 2, case
        assert "--path" in capsys.readouterr().err, case


def test_journeys_render_checks_out_before_loading(tmp_path, a_file, capsys):
    for case, path in _bad_paths(tmp_path, a_file).items():
        assert main(["journeys", "render", "--out", path]) == 2, case
        assert "--out" in capsys.readouterr().err, case


def test_replay_checks_output_before_the_pipeline(tmp_path, a_file, monkeypatch, capsys):
    import journeyflow.pipelines.replay as replay
    monkeypatch.setattr(replay, "run_replay", _never("run_replay"))
    for path in (str(a_file), str(a_file / "out"), "/proc/journeyflow-out"):
        assert main(["replay", "--input", str(tmp_path), "--output", path]) == 2, path
        err = capsys.readouterr().err
        assert "--output" in err and "File exists" not in err, err


@pytest.mark.parametrize("argv", [
    ["publish", "--rate", "-3"], ["publish", "--rate", "0"], ["publish", "--rate", "nan"],
    ["publish", "--rate", "inf"], ["publish", "--time_scale", "0"], ["publish", "--time_scale", "-1"],
    ["publish", "--limit", "0"], ["publish", "--limit", "-5"],
    ["consume", "--topic", "decisions-email", "--timeout", "-1"],
    ["consume", "--topic", "decisions-email", "--max_messages", "0"],
])
def test_publish_and_consume_values_are_usage_errors_at_parse_time(argv, tmp_path, monkeypatch, capsys):
    import journeyflow.tools.pubsub as pubsub
    monkeypatch.setattr(pubsub, "check_access", _never("check_access"))
    if argv[0] == "publish":
        argv = [*argv, "--input", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    flag = next(a for a in argv if a.startswith("--") and a not in ("--input", "--topic"))
    assert f"argument {flag}" in capsys.readouterr().err


def test_publish_refuses_a_time_scale_without_shift_to_now(tmp_path, monkeypatch, capsys):
    """``--time_scale`` scales the gaps of the times ``--shift_to_now`` rewrites; alone it was ignored silently
    (the recorded times were published as they are): now exit 2, before Pub/Sub is looked for."""
    import journeyflow.tools.pubsub as pubsub
    monkeypatch.setattr(pubsub, "check_access", _never("check_access"))
    assert main(["publish", "--input", str(tmp_path), "--time_scale", "60"]) == 2
    assert "--time_scale needs --shift_to_now" in capsys.readouterr().err
    published = []
    monkeypatch.setattr(pubsub, "check_access", lambda: "the emulator")
    monkeypatch.setattr(pubsub, "publish_dir", lambda *a, **k: published.append(k) or _Stats())
    (tmp_path / "web.jsonl").write_text("")
    assert main(["publish", "--input", str(tmp_path), "--time_scale", "60", "--shift_to_now"]) == 0
    assert published[0]["time_scale"] == 60.0 and published[0]["shift_to_now"] is True
    assert main(["publish", "--input", str(tmp_path)]) == 0
    assert published[1]["time_scale"] == 1.0 and published[1]["shift_to_now"] is False


class _Stats:
    errors = 0

    @staticmethod
    def render() -> str:
        return "published 0"


def test_publish_checks_its_input_before_looking_for_pubsub(tmp_path, monkeypatch, capsys):
    import journeyflow.tools.pubsub as pubsub
    monkeypatch.setattr(pubsub, "check_access", _never("check_access"))
    assert main(["publish", "--input", str(tmp_path / "missing")]) == 2
    assert "--input" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--min_ts", "yesterday", "--max_ts", "2026-10-20T00:00:00Z"],
                                   ["--min_ts", "2026-10-20T00:00:00Z", "--max_ts", "2026-10-01T00:00:00Z"],
                                   ["--min_ts", "2026-10-01T00:00:00Z"]])
def test_validate_checks_its_arguments_before_the_suites(extra, tmp_path, monkeypatch, capsys):
    """A bound that is not a time, --min_ts after --max_ts, one bound only: exit 2 before
    Great Expectations runs (before: a range the wrong way round ran every suite and failed the range checks,
    exit 1 as if the tables were bad)."""
    import journeyflow.analytics.quality as quality
    monkeypatch.setattr(quality, "validate_output", _never("validate_output"))
    (tmp_path / "tables").mkdir()
    assert main(["validate", str(tmp_path), *extra]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1



@pytest.mark.parametrize("bound", ["2026-10-01", "2026-10-01T00:00:00", "1790000000"])
def test_validate_reads_its_bounds_as_replay_until_does(bound, tmp_path, monkeypatch, capsys):
    """A bare date or a local time (which zone?) and epoch seconds are refused by ``replay --until``; ``validate``
    took the first two as UTC and the last as 1970: the same text now gets the same answer, exit 2 with one line
    naming the option."""
    import journeyflow.analytics.quality as quality
    monkeypatch.setattr(quality, "validate_output", _never("validate_output"))
    (tmp_path / "tables").mkdir()
    assert main(["validate", str(tmp_path), "--min_ts", bound, "--max_ts", "2026-10-20T00:00:00Z"]) == 2
    err = capsys.readouterr().err
    assert "--min_ts" in err and len(err.strip().splitlines()) == 1
    assert main(["replay", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o"), "--until", bound]) == 2
    capsys.readouterr()
    # one bound alone, a bad one: the bad value is named (it was only "give both --min_ts and --max_ts", qa16c)
    assert main(["validate", str(tmp_path), "--min_ts", bound]) == 2
    err = capsys.readouterr().err
    assert "--min_ts" in err and bound in err and "give both" not in err


def test_validate_passes_its_bounds_as_epoch_ms(tmp_path, monkeypatch):
    import journeyflow.analytics.quality as quality
    got = []

    class _Report:
        ok = True

        def render(self, verbose):
            return "ok"

    monkeypatch.setattr(quality, "validate_output", lambda out, input_range=None: got.append(input_range) or _Report())
    (tmp_path / "tables").mkdir()
    assert main(["validate", str(tmp_path), "--min_ts", "2026-10-01T02:00:00+02:00", "--max_ts",
                 "1790812800001"]) == 0
    assert got == [(1790812800000, 1790812800001)]
