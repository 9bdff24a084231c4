"""A line of a built-in stream's file that is a JSON array of records (an export written as one array) is read
record by record, as a Segment array already was (``stages.segment.batch.split_records``).

qa17a: a consent export written as ``[{...grant...}, {...revoke...}]`` on one line of ``consent.jsonl`` was one
``not_an_object`` dead letter ("expected a JSON object, got list"): the revoke in it was never read, and the customer
kept getting the channel.  The replay's reader, the Pub/Sub source, ``publish`` and ``compare`` split it the same
way; ``[]`` stays one record (its dead letter says why); a key written twice inside an item is kept twice (the
parser's fail-safe reading of a repeated opt-out key)."""
from __future__ import annotations

import io
import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.parse_lines import jsonl_records
from journeyflow.stages.segment.batch import split_records
from tests.stages.test_qa11a_mailboxes import PARSER
from tests.stages.test_qa17b_opt_out_names import AT, BASE, offers

GRANT = {"event_id": "g-A2", "ts": "2026-09-02T00:00:00Z", "crm_id": "A", "channel": "email", "status": "granted"}
REVOKE = {"event_id": "r-A", "ts": AT, "crm_id": "A", "channel": "email", "status": "revoked"}


def lines(*rows) -> io.BytesIO:
    return io.BytesIO(b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows))


def test_a_consent_export_written_as_one_array_is_read_record_by_record():
    recs = list(jsonl_records(lines([GRANT, REVOKE]), "consent.jsonl", "consent"))
    assert [s for _p, s in recs] == ["consent.jsonl:1#1", "consent.jsonl:1#2"]  # before: one record, "consent.jsonl:1"
    evs = [PARSER.parse("consent", p) for p, _s in recs]
    assert [e.type for e in evs] == ["consent_granted", "consent_revoked"]  # before: a not_an_object dead letter
    assert offers(BASE + [("consent", json.loads(p)) for p, _s in recs]) == ["crm:B"]  # before: A got the offer


def test_an_ordinary_line_and_an_empty_array_stay_one_record_each():
    recs = list(jsonl_records(lines(REVOKE, b"[]", b"  [ ]  "), "consent.jsonl", "consent"))
    assert [s for _p, s in recs] == ["consent.jsonl:1", "consent.jsonl:2", "consent.jsonl:3"]
    dead = PARSER.parse("consent", recs[1][0])
    assert isinstance(dead, DeadLetter) and dead.reason == "not_an_object"


@pytest.mark.parametrize("stream", ["consent", "engagement", "crm", "web", "orders", "support"])
def test_every_built_in_stream_splits_an_array_and_passes_non_objects_on(stream):
    got = split_records(b' \xef\xbb\xbf[{"a": 1}, 7, {"b": "\xc3\xa9"}]', stream)
    assert got == [b'{"a":1}', b"7", '{"b":"é"}'.encode()]
    assert split_records(b'{"a": [1, 2]}', stream) is None and split_records(b"[1, 2", stream) is None


def test_a_key_written_twice_in_an_item_is_kept_twice():
    (item,) = split_records(b'[{"event_id": "r1", "ts": "2026-10-01T00:00:00Z", "crm_id": "A", "channel": "email",'
                            b' "status": "revoked", "status": "granted"}]', "consent")
    assert item.count(b'"status"') == 2
    ev = PARSER.parse("consent", item)
    assert isinstance(ev, Event) and ev.type == "consent_revoked"  # read fail safe (stages.duplicate_keys)


def test_the_pubsub_source_splits_it_too():
    from apache_beam.io.gcp.pubsub import PubsubMessage

    from journeyflow.transforms.sources import _to_raws

    raws = _to_raws(PubsubMessage(json.dumps([GRANT, REVOKE]).encode(), {}, message_id="m9"), "consent")
    assert [r.source for r in raws] == ["pubsub:m9#1", "pubsub:m9#2"]
    assert [json.loads(r.payload)["status"] for r in raws] == ["granted", "revoked"]


def test_a_replay_reads_and_accounts_for_each_record(tmp_path):
    from journeyflow.pipelines.replay import run_replay

    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "consent.jsonl").write_bytes(lines([GRANT, REVOKE], b"[]").getvalue())
    summary = run_replay(["--input", str(inp), "--output", str(tmp_path / "out"), "--max_dead_letter_rate", "1"])
    assert summary.records_read == 3 and summary.events_decided == 2  # before: 2 records, both dead letters
    assert dict(summary.dead_letters) == {"not_an_object": 1} and summary.reconciles
