"""Every load of the engine configuration applies the checks ``journeys validate`` applies (issue 19 follow-up):
a journey or computed attribute on a Segment event name the effective mapping (``--segment_mapping`` or the
shipped one) turns into a built-in event is refused by ``replay``, ``stream``, ``ReplayJob.from_argv`` and
``EngineConfig.from_files`` with the same file:line error (exit 2), and a missing ``--segment_mapping`` /
``--attributes`` file is a clear error naming the option."""
from __future__ import annotations

import json
import textwrap

import pytest

from journeyflow.cli import main
from journeyflow.config.engine import EngineConfig
from journeyflow.config.errors import UserError

JOURNEY = textwrap.dedent("""\
    version: 1
    journeys:
      - id: welcome_back
        category: marketing
        priority: 1
        entry: {event: Signed In, stream: track}
        steps: [{id: s, send: {channel: email, content_id: hello}}]
    """)
MESSAGE = "journeys[0].entry.event: event 'Signed In' never reaches stream 'track': the Segment mapping turns it " \
          "into web 'login' (use event: login, stream: web)"


@pytest.fixture
def files(tmp_path):
    j = tmp_path / "j.yaml"
    j.write_text(JOURNEY)
    data = tmp_path / "in"
    data.mkdir()
    (data / "track.jsonl").write_text(json.dumps({
        "type": "track", "event": "Signed In", "messageId": "m1", "userId": "u1",
        "timestamp": "2026-10-05T10:00:00Z", "context": {"traits": {"email": "ann@example.com"}}}) + "\n")
    empty = tmp_path / "m.yaml"
    empty.write_text("version: 1\nevents: {}\n")
    return j, data, empty


def test_engine_config_refuses_a_journey_on_a_mapped_name(files):
    j, _, empty = files
    with pytest.raises(UserError) as e:
        EngineConfig.from_files(journeys=str(j))
    assert f"{j}:6: {MESSAGE}" in str(e.value)
    # with a mapping that does not list the name, it is a user-named track event
    cfg = EngineConfig.from_files(journeys=str(j), segment_mapping=str(empty))
    assert [x.id for x in cfg.journeys()] == ["welcome_back"] and cfg.mapped() == {}


def test_an_attribute_on_a_mapped_name_is_refused_on_load(files, tmp_path):
    _, _, empty = files
    a = tmp_path / "a.yaml"
    a.write_text("version: 1\nattributes:\n  logins: {op: count, event: Signed In, stream: track}\n")
    with pytest.raises(UserError) as e:
        EngineConfig.from_files(attributes=str(a))
    assert f"{a}:3: attributes.logins.event: event 'Signed In' never reaches stream 'track'" in str(e.value)
    assert EngineConfig.from_files(attributes=str(a), segment_mapping=str(empty)).attributes().by_name["logins"]


def test_replay_job_and_stream_refuse_it(files, tmp_path):
    from journeyflow.pipelines.replay import ReplayJob
    from journeyflow.pipelines.stream import run_stream
    j, data, empty = files
    with pytest.raises(UserError, match="never reaches stream 'track'"):
        ReplayJob.from_argv(["--input", str(data), "--output", str(tmp_path / "o"), "--journeys", str(j)])
    job = ReplayJob.from_argv(["--input", str(data), "--output", str(tmp_path / "o"), "--journeys", str(j),
                               "--segment_mapping", str(empty)])
    assert job.config.segment_mapping_yaml == empty.read_text()
    # the engine configuration is loaded before anything touches Pub/Sub (--resume false: no rewind)
    with pytest.raises(UserError, match="never reaches stream 'track'"):
        run_stream(["--journeys", str(j), "--resume", "false", "--runner", "BundleBasedDirectRunner"], wait=False)


def test_replay_cli_exits_2_with_file_and_line(files, tmp_path, capsys):
    j, data, _ = files
    assert main(["replay", "--input", str(data), "--output", str(tmp_path / "o"), "--journeys", str(j)]) == 2
    assert capsys.readouterr().err.strip() == f"journeyflow replay: error: {j}:6: {MESSAGE}"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option", ["--segment_mapping", "--attributes", "--journeys"])
def test_a_missing_config_file_names_the_option(files, tmp_path, capsys, option):
    _, data, _ = files
    missing = tmp_path / "nope.yaml"
    assert main(["replay", "--input", str(data), "--output", str(tmp_path / "o"), option, str(missing)]) == 2
    assert capsys.readouterr().err.strip() == (f"journeyflow replay: error: {option} {missing}: cannot read the "
                                               "file (no such file)")
    assert main(["journeys", "validate", str(files[0]), option if option != "--journeys" else "--attributes",
                 str(missing)]) == 2
    assert "cannot read the file (no such file)" in capsys.readouterr().err


def test_replay_enforces_declared_property_types(tmp_path, capsys):
    """The trial-ending example with ``"days_left": "3"``: the replay keeps the event, drops the property with a
    field warning ``properties.days_left`` (the parser gets the declared types from the attributes file)."""
    from pathlib import Path

    from journeyflow.pipelines.replay import ReplayJob
    from journeyflow.pipelines.stream import stream_parse_config
    from journeyflow.pipelines.options import JourneyflowOptions
    from apache_beam.options.pipeline_options import PipelineOptions
    example = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"
    data = tmp_path / "in"
    data.mkdir()
    (data / "track.jsonl").write_text(json.dumps({
        "type": "track", "event": "Trial Ending Soon", "messageId": "t1", "userId": "u1",
        "timestamp": "2026-10-05T10:00:00Z", "properties": {"days_left": "3"}}) + "\n")
    out = tmp_path / "out"
    argv = ["--input", str(data), "--output", str(out), "--journeys", str(example / "journeys.yaml"),
            "--attributes", str(example / "attributes.yaml")]
    declared = ReplayJob.from_argv(argv).parse_config.declared_types
    assert declared is not None and ("track", "Trial Ending Soon") in {(s, e) for s, e, _ in declared.properties}
    jf = PipelineOptions(["--attributes", str(example / "attributes.yaml")]).view_as(JourneyflowOptions)
    assert stream_parse_config(jf, declared).declared_types == declared
    assert main(["replay", *argv]) == 0
    printed = capsys.readouterr().out
    assert "dead letters                0" in printed and "field warnings              1" in printed, printed
    rows = [json.loads(x) for f in (out / "topics").rglob("*field-warnings*") for x in f.read_text().splitlines()]
    assert [(r["field"], r["reason"], r["action"]) for r in rows] == [("properties.days_left", "wrong_type",
                                                                       "dropped")], rows
