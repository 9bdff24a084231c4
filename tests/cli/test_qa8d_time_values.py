"""Time and duration option values a data engineer gets wrong:

* epoch *seconds* where epoch milliseconds are expected (``--until 1791194400``, ``--max_event_time 1791194400``):
  1970-01-21, before any event time journeyflow accepts (2000-01-01), so the replay dead-lettered every record as
  ``timestamp_out_of_range`` and exited 0;
* a value that starts with ``-`` given as ``--flag=VALUE`` (``--allowed_lateness=-5s``, ``--until=-5``): the
  options were handed to Beam as ``--flag VALUE``, which Beam's parser read as a flag (a 15-line usage text of
  ``journeyflow`` and "expected one argument").

Each: exit 2, one line naming the option, before any work."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


def _never(what: str):
    def called(*_a, **_k):
        raise AssertionError(f"{what} ran although an option value was unusable")
    return called


@pytest.fixture(autouse=True)
def no_work(monkeypatch):
    import apache_beam as beam

    import journeyflow.pipelines.stream as stream
    import journeyflow.tools.pubsub as pubsub
    monkeypatch.setattr(pubsub, "rewind_for_resume", _never("the rewind of the subscriptions"))
    monkeypatch.setattr(stream, "reset_identity_store", _never("the reset of the identity store"))
    monkeypatch.setattr(beam.Pipeline, "run", _never("the pipeline"))


@pytest.fixture
def inp(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "web.jsonl").write_text('{"event_id": "w1", "ts": "2026-10-05T10:00:00Z", "anonymous_id": "d1", '
                                 '"type": "page_view"}\n')
    return d


@pytest.mark.parametrize("arg,flag", [
    ("--until=1791194400", "--until"),
    ("--until=-5", "--until"),
    ("--max_event_time=1791194400", "--max_event_time"),
    ("--max_event_time=-1", "--max_event_time"),
])
def test_replay_refuses_times_before_any_acceptable_event(arg, flag, inp, tmp_path, capsys):
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), arg]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("arg,flag", [
    ("--allowed_lateness=-5s", "--allowed_lateness"),
    ("--catch_up=-1m", "--catch_up"),
    ("--max_event_time=1791194400", "--max_event_time"),
    ("--topic_prefix=-x", "--topic_prefix"),
])
def test_stream_names_the_option_of_a_dash_value(arg, flag, capsys):
    assert main(["stream", "--project", "p", arg]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
