"""``journeyflow stream`` checks its option values before it touches Pub/Sub: a start rewinds every input
subscription and forgets the local identity store's links (``--resume``, the default locally), so a typo found only
after that (``--max_event_time now+``, an unknown ``--identity_store`` scheme found by the first bundle, a
``--topic_prefix`` Pub/Sub cannot name) has already changed the subscriptions.  Each case: exit 2, one line naming
the option, and neither the rewind nor the pipeline reached."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


def _never(what: str):
    def called(*_a, **_k):
        raise AssertionError(f"{what} ran although an option value was unusable")
    return called


@pytest.fixture(autouse=True)
def no_side_effects(monkeypatch):
    import apache_beam as beam

    import journeyflow.pipelines.stream as stream
    import journeyflow.tools.pubsub as pubsub
    monkeypatch.setattr(pubsub, "rewind_for_resume", _never("the rewind of the subscriptions"))
    monkeypatch.setattr(stream, "reset_identity_store", _never("the reset of the identity store"))
    monkeypatch.setattr(beam.Pipeline, "run", _never("the pipeline"))


@pytest.mark.parametrize("flag,value", [
    ("--max_event_time", "now+"),
    ("--max_event_time", "tomorrow"),
    ("--identity_store", "foo://x"),
    ("--identity_store", "redis://localhost/0"),
    ("--topic_prefix", "9bad"),
    ("--topic_prefix", "a b"),
    ("--catch_up", "abc"),
    ("--allowed_lateness", "5 minutes"),
])
def test_a_bad_value_is_refused_before_pubsub_is_touched(flag, value, capsys):
    assert main(["stream", "--project", "p", f"{flag}={value}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
