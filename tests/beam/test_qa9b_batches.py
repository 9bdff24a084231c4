"""qa9b: Segment batch envelopes that hold no message, or items that are no message, are accounted for.

``{"batch": []}`` (a library flushing an empty queue, a proxy's keep-alive) and ``[]`` were split into no message:
the line was neither decided nor a dead letter, so it vanished (decided + dead letters = records read held only
because it was not counted either).  Now each is one record read and one dead letter with a reason; an item that
is no object is one record and one ``not_an_object`` dead letter.  Files, Pub/Sub, the replay summary and run.json."""
from __future__ import annotations

import json

import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.transforms.sources import _ReadFileFn, _to_raws
from tests.stages.test_input_edge_cases import GOOD, P

EMPTY = [b'{"batch": []}', b"[]", b'{"batch": [], "context": {"library": {"name": "analytics-python"}}}',
         b'  { "batch" : [ ] }']


def read(stream, path):
    return list(_ReadFileFn()._records((stream, str(path))))


@pytest.mark.parametrize("line", EMPTY)
def test_an_empty_batch_line_is_one_record_and_one_dead_letter_with_a_reason(tmp_path, line):
    path = tmp_path / "track.jsonl"
    path.write_bytes(line + b"\n" + json.dumps(GOOD["track"]).encode() + b"\n")
    raws = read("track", path)
    assert [r.source for r in raws] == ["track.jsonl:1", "track.jsonl:2"]
    dead = P.parse_full("track", raws[0].payload, raws[0].source).result
    assert isinstance(dead, DeadLetter) and dead.reason in ("unknown_type", "not_an_object")
    assert "empty" in dead.detail
    assert isinstance(P.parse_full("track", raws[1].payload).result, Event)


@pytest.mark.parametrize("line", EMPTY)
def test_an_empty_batch_pubsub_message_is_one_record(line):
    raws = _to_raws(PubsubMessage(line, {"ts": "1"}, message_id="p1"), "track")
    assert [r.source for r in raws] == ["pubsub:p1"]
    assert isinstance(P.parse_full("track", raws[0].payload).result, DeadLetter)


def test_items_that_are_no_messages_are_each_a_record_and_a_dead_letter(tmp_path):
    path = tmp_path / "track.jsonl"
    path.write_text(json.dumps({"batch": [1, "x", None, [], {}, GOOD["track"]]}) + "\n")
    raws = read("track", path)
    assert len(raws) == 6
    got = [P.parse_full("track", r.payload).result for r in raws]
    assert [type(g).__name__ for g in got] == ["DeadLetter"] * 5 + ["Event"]
    assert [g.reason for g in got[:4]] == ["not_an_object"] * 4


def test_a_replay_accounts_for_empty_batches_in_its_summary_and_run_json(tmp_path):
    from journeyflow.pipelines.replay import run_replay

    inp = tmp_path / "in"
    inp.mkdir()
    lines = [json.dumps(GOOD["track"]), '{"batch": []}', "[]",
             json.dumps({"batch": [7, {**GOOD["track"], "messageId": "m2"}]})]
    (inp / "track.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out), "--until", "end"])
    assert summary.records_read == 5 and summary.reconciles
    assert sum(summary.dead_letters.values()) == 3 and summary.events_decided == 2
    run = json.loads((out / "run.json").read_text())["summary"]
    assert run["records_read"] == run["events_decided"] + run["dead_letters"] == 5 and run["reconciles"]


@pytest.mark.parametrize("own", [None, "", []])
def test_an_items_empty_context_or_sent_at_takes_the_envelopes(own):
    """An item's ``"context": null`` (or ``[]``, PHP's empty object) replaced the envelope's context, whose
    traits.email then linked nothing; its ``"sentAt": null`` replaced the batch's, so the skew correction was not
    made (the event time was the device clock's)."""
    from journeyflow.stages.segment.batch import split_batch

    item = {"type": "track", "messageId": "m1", "anonymousId": "d-1", "event": "E", "context": own, "sentAt": own,
            "originalTimestamp": "2026-10-01T10:00:00Z", "receivedAt": "2026-10-01T10:00:10Z"}
    env = {"batch": [item], "sentAt": "2026-10-01T10:00:05Z", "context": {"traits": {"email": "ann@example.com"}}}
    (msg,) = split_batch(json.dumps(env))
    ev = P.parse_full("track", msg).result
    assert isinstance(ev, Event) and ev.contact.get("email") == "ann@example.com" and len(ev.ids) == 2
    assert ev.ts == 1790848805000  # receivedAt - (sentAt - originalTimestamp)
