"""Issue 20, point 5: replay refuses a non-empty output folder unless --overwrite (which replaces only its own
topics/, tables/ and run.json), writes beside the target and moves into place, and leaves the target untouched
when the run fails; the run manifest says what was read."""
from __future__ import annotations

import hashlib
import json

import pytest

from journeyflow.cli import main
from journeyflow.pipelines import output as output_mod
from journeyflow.pipelines.output import MANIFEST, OutputNotEmptyError, prepare_output
from journeyflow.pipelines.replay import run_replay
from journeyflow.tools.generator import generate


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    generate(30, 3, 7, d)
    return d


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_refuses_a_non_empty_output_and_overwrite_replaces_only_its_own_entries(data, tmp_path, capsys):
    out = tmp_path / "out"
    first = run_replay(["--input", str(data), "--output", str(out)])
    assert first.reconciles
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "tables", "topics"]
    (out / "report.html").write_text("mine")
    (out / "tables" / "decisions" / "date=1999-01-01").mkdir()  # an old partition: would mix into the table
    before = _snapshot(out)

    with pytest.raises(OutputNotEmptyError, match="--overwrite"):
        run_replay(["--input", str(data), "--output", str(out)])
    assert _snapshot(out) == before
    assert main(["replay", "--input", str(data), "--output", str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert _snapshot(out) == before

    assert main(["replay", "--input", str(data), "--output", str(out), "--overwrite"]) == 0
    assert (out / "report.html").read_text() == "mine"  # not journeyflow's: left alone
    assert not (out / "tables" / "decisions" / "date=1999-01-01").exists()  # the old tables were replaced
    again = _snapshot(out)
    same = {k for k in before if k.startswith(("topics/", "tables/"))}
    assert {k: again[k] for k in same if k in again} == {k: before[k] for k in same if k in again}
    assert {k for k in again if k.startswith(("topics/", "tables/"))} == same
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old folder left beside it


def test_an_empty_existing_folder_is_fine(data, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert run_replay(["--input", str(data), "--output", str(out)]).reconciles
    assert (out / "topics" / "decisions-audit.jsonl").exists()


def test_a_failed_run_leaves_no_half_output(data, tmp_path, monkeypatch):
    """The pipeline fails after writing its outputs (in the staging folder): nothing reaches the target, and the
    staging folder is removed."""
    out = tmp_path / "out"

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted after the pipeline")

    monkeypatch.setattr("journeyflow.pipelines.replay.summarize", boom)
    with pytest.raises(RuntimeError):
        run_replay(["--input", str(data), "--output", str(out)])
    assert list(tmp_path.iterdir()) == []

    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(RuntimeError):
        run_replay(["--input", str(data), "--output", str(out)], overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and _snapshot(out) == {"keep.txt": b"x"}


def test_manifest_names_inputs_config_and_journey_order(data, tmp_path):
    out = tmp_path / "out"
    summary = run_replay(["--input", str(data), "--output", str(out), "--until", "end"])
    m = json.loads((out / MANIFEST).read_text())
    files = {f["name"]: f for f in m["input"]["files"]}
    for name in ("web.jsonl", "orders.jsonl", "consent.jsonl"):
        assert files[name]["sha256"] == hashlib.sha256((data / name).read_bytes()).hexdigest()
    from journeyflow.config.engine import default_text
    assert m["config"]["journeys"] == {"source": "<default journeys.yaml>",
                                       "sha256": hashlib.sha256(default_text("journeys.yaml").encode()).hexdigest()}
    from journeyflow.stages.segment.mapping import default_mapping_text
    assert m["config"]["segment_mapping"]["sha256"] == hashlib.sha256(default_mapping_text().encode()).hexdigest()
    assert m["config"]["attributes"] == {"source": "<no attributes file>", "sha256": None}
    et = m["input"]["event_times"]
    assert et["count"] == summary.events_decided > 0  # every accepted event, and only those
    assert et["min"] <= et["max"] and et["min_iso"].startswith("2026-10-01") and et["max_iso"] < "2026-10-05"
    cart = next(j for j in m["journeys"] if j["id"] == "cart_abandonment")
    assert [s["id"] for s in cart["steps"]] == ["wait_1h", "reminder_email", "wait_23h", "reminder_sms"]
    assert cart["has_goal"] and cart["control_group_pct"] == 10
    assert m["options"]["until"] == "end" and m["summary"]["reconciles"] is True


def test_prepare_output_rules(tmp_path):
    assert prepare_output("gs://bucket/out") is None  # remote: written in place by the pipeline
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        prepare_output(str(f))
    staged = prepare_output(str(tmp_path / "new" / "out"))
    assert staged.staging.parent == staged.target.parent and staged.staging.name.startswith(".out.replay-")
    (staged.staging / "topics").mkdir()
    staged.publish()
    assert (tmp_path / "new" / "out" / "topics").is_dir() and not staged.staging.exists()
    assert output_mod.OWN_ENTRIES == ("topics", "tables", "run.json")


def test_the_summary_says_the_horizon_and_that_later_timers_did_not_fire(data, tmp_path):
    """A newcomer's journey waiting an hour after the input's last event decided nothing, and the summary said only
    "max event time <now + 1 day> (later events are dead letters)": the acceptance bound, not the horizon.  Now it
    names the horizon (the latest accepted event, or --until) and that timers due after it did not fire."""
    summary = run_replay(["--input", str(data), "--output", str(tmp_path / "a")])
    m = json.loads((tmp_path / "a" / MANIFEST).read_text())
    assert summary.horizon == m["input"]["event_times"]["max"] and not summary.horizon_given
    line = next(x for x in summary.render().splitlines() if x.startswith("horizon"))
    assert m["input"]["event_times"]["max_iso"][:19] in line and "latest accepted event" in line
    assert "--until end fires them" in line
    given = run_replay(["--input", str(data), "--output", str(tmp_path / "b"), "--until", "2026-10-02T00:00:00Z"])
    assert "horizon             2026-10-02T00:00:00+00:00  (--until;" in given.render()
    end = run_replay(["--input", str(data), "--output", str(tmp_path / "c"), "--until", "end"])
    assert "horizon             end  (--until end" in end.render()
