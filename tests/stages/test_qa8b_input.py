"""qa8b: input files as real sources write them (line ends).

Each test names the input that went wrong and what a careful user expects (the task's attack list: CR-only line
ends, event ids spelled with invisible characters, ...)."""
from __future__ import annotations

import json

import pytest
from journeyflow.transforms.sources import _ReadFileFn

from journeyflow.model.events import Event
from tests.stages.test_input_edge_cases import GOOD, HASHER, TS, P, parse  # noqa: F401 - the shared samples

ID_FIELD = {s: ("messageId" if s == "track" else "event_id") for s in GOOD}


def read(stream, path):
    return list(_ReadFileFn()._records((stream, str(path))))


# ------------------------------------------------------------------------------------------ line ends
@pytest.mark.parametrize("stream", sorted(GOOD))
def test_a_file_with_cr_only_line_ends_reads_every_record(tmp_path, stream):
    """Classic Mac OS and some CRM / spreadsheet exports end lines with a lone CR: the whole file was one record
    (one ``invalid_json`` dead letter for all of them: every contact and opt-out in it lost)."""
    recs = [json.dumps({**GOOD[stream], ID_FIELD[stream]: f"id{i}"}) for i in range(3)]
    path = tmp_path / f"{stream}.jsonl"
    path.write_bytes("\r".join(recs).encode() + b"\r")
    raws = read(stream, path)
    assert [r.source for r in raws] == [f"{stream}.jsonl:{i}" for i in (1, 2, 3)]
    got = [parse(stream, r.payload) for r in raws]
    assert all(isinstance(e, Event) for e in got), got
    assert [e.uid for e in got] == [f"{stream}/id{i}" for i in range(3)]


def test_mixed_line_ends_number_lines_as_an_editor_does(tmp_path):
    """LF, CRLF and CR in one file (files concatenated from several tools): each ends one line; blank lines count
    in the numbering (so a dead letter's ``file:line`` is the line an editor shows)."""
    a, b, c, d = (json.dumps({**GOOD["crm"], "event_id": f"c{i}"}) for i in range(4))
    path = tmp_path / "crm.jsonl"
    path.write_bytes(f"{a}\r\n{b}\r\r{c}\r\r\n{d}".encode())
    raws = read("crm", path)
    assert [r.source.rsplit(":", 1)[1] for r in raws] == ["1", "2", "4", "6"]
    assert [parse("crm", r.payload).uid for r in raws] == ["crm/c0", "crm/c1", "crm/c2", "crm/c3"]


# ------------------------------------------------------------------------------------------ dead-letter source
@pytest.mark.parametrize("buckets", ["1", "2"])
def test_a_dead_letter_names_its_file_relative_to_the_input_folder(tmp_path, buckets):
    """The dead letter's and field warning's ``source`` held the input path as given (an absolute path on a
    scheduler, another one on each analyst's machine): the same bad line of the same input gave different rows in
    runs compared across machines.  Now ``<file>:<line>`` relative to ``--input`` (which ``run.json`` records)."""
    from journeyflow.pipelines.replay import run_replay

    inp = (tmp_path / "some" / "where" / "in").resolve()
    inp.mkdir(parents=True)
    good = {**GOOD["crm"], "email": "ann@example.com", "timezone": "Eastern Standard Time"}
    (inp / "crm.jsonl").write_text(json.dumps(good) + "\n" + "{not json\n")
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out), "--buckets", buckets])
    assert summary.records_read == 2 and summary.reconciles
    dead = [json.loads(x) for x in (out / "topics" / "dead-letter.jsonl").read_text().splitlines()]
    warned = [json.loads(x) for x in (out / "topics" / "field-warnings.jsonl").read_text().splitlines()]
    assert [d["source"] for d in dead] == ["crm.jsonl:2"]
    assert [w["source"] for w in warned] == ["crm.jsonl:1"]


# ------------------------------------------------------------------------------------------ lone surrogates
CUT_EMOJI = "Hi \ud83d"  # JavaScript's substring cut an emoji in half: a lone surrogate, as a JSON escape


def test_a_batch_with_a_cut_emoji_is_read_message_by_message(tmp_path):
    """A lone surrogate (``"\\ud83d"``) is valid JSON but no UTF-8: splitting a batch envelope that held one raised
    ``UnicodeEncodeError`` in the file reader (the whole replay failed) and in the Pub/Sub source (the bundle
    retried for ever)."""
    msgs = [{**GOOD["track"], "messageId": "m1", "properties": {"title": CUT_EMOJI}},
            {**GOOD["track"], "messageId": "m2"}]
    path = tmp_path / "track.jsonl"
    path.write_text(json.dumps({"batch": msgs}) + "\n" + json.dumps(msgs) + "\n")
    raws = read("track", path)
    assert [r.source for r in raws] == ["track.jsonl:1#1", "track.jsonl:1#2", "track.jsonl:2#1", "track.jsonl:2#2"]
    got = [parse("track", r.payload) for r in raws]
    assert [type(g).__name__ for g in got] == [type(parse("track", json.dumps(m))).__name__ for m in msgs] * 2
    from apache_beam.io.gcp.pubsub import PubsubMessage
    from journeyflow.transforms.sources import _to_raws
    split = _to_raws(PubsubMessage(json.dumps({"batch": msgs}).encode(), {"ts": "1"}, message_id="p1"), "track")
    assert [r.source for r in split] == ["pubsub:p1#1", "pubsub:p1#2"]


@pytest.mark.parametrize("stream, field", [("track", "properties"), ("web", "properties"), ("crm", "owner_id"),
                                           ("track", "event"), ("track", "traits"), ("track", "anonymousId"),
                                           ("track", "userId"), ("web", "anonymous_id"), ("crm", "crm_id"),
                                           ("orders", "order_id"), ("consent", "event_id"), ("crm", "timezone")])
def test_a_replay_with_cut_emojis_accounts_for_every_record(tmp_path, stream, field):
    """Records read = decided + dead letters, and the outputs are written, whatever string holds the surrogate.
    A lone surrogate in an identifier reached Beam's UTF-8 coder (``ResolveIdentities/KeyByCluster``) and failed
    the whole replay; it is read as U+FFFD (``json_text.loads_json``)."""
    from journeyflow.pipelines.replay import run_replay

    base = {**GOOD[stream]}
    if stream == "track" and field == "traits":
        base = {**base, "type": "identify", "userId": "u1", "traits": {"nickname": CUT_EMOJI, "plan": "x"}}
    elif field == "properties":
        base[field] = {"title": CUT_EMOJI}
    else:
        base[field] = CUT_EMOJI
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / f"{stream}.jsonl").write_text(json.dumps(base) + "\n" + json.dumps({"batch": [base]}) + "\n")
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out)])
    assert summary.records_read == 2 and summary.reconciles
    for topic in (out / "topics").glob("*.jsonl"):
        for line in topic.read_text(encoding="utf-8").splitlines():
            json.loads(line)
