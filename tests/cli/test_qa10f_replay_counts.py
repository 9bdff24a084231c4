"""qa10f: the replay's record counts split Segment batches; the consent hint sees a consent file of dead letters.

Before: ``pipelines.replay_buckets.count_records`` (bucket sizing) counted a line holding a batch envelope of 500
messages as one record, unlike the reader and the progress count; and a ``consent.jsonl`` whose every record was a
dead letter (a preference-centre export in a format the stream refuses) silenced the hint that every marketing
candidate was suppressed for consent, since the hint only looked at whether the file held any text."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from journeyflow.cli import main
from journeyflow.cli.progress import count_input_records
from journeyflow.pipelines.replay_buckets import count_records
from tests.scenarios import Scenario

TS = "2026-10-01T00:00:00Z"


def _msg(i):
    return {"type": "track", "messageId": f"m{i}", "userId": f"u{i}", "event": "Clicked", "timestamp": TS}


def test_count_records_splits_batch_envelopes_as_the_reader_does(tmp_path):
    (tmp_path / "track.jsonl").write_text(json.dumps({"batch": [_msg(i) for i in range(5)]}) + "\n\n"
                                          + json.dumps(_msg(9)) + "\n" + json.dumps([_msg(7), _msg(8)]) + "\n")
    (tmp_path / "web.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    assert count_records(str(tmp_path)) == 5 + 1 + 2 + 2
    assert count_records(str(tmp_path)) == count_input_records(str(tmp_path))[0]


def _input(tmp_path, consent_text: str):
    sc = Scenario()
    sc.contact(timedelta(0), "c1", email="ann@example.com", consent=(), stage="lead")
    sc.add("web", timedelta(minutes=5), user_id="c1", type="add_to_cart", product_id="P1")
    inp = sc.write(tmp_path / "in")
    (inp / "consent.jsonl").write_text(consent_text)
    return inp


def _replay(tmp_path, inp, capsys):
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"]) == 0
    return capsys.readouterr().err


BAD = ['{"event_id":"k1","ts":"whenever","crm_id":"c1","channel":"email","status":"granted"}',  # bad_timestamp
       '{"event_id":"k2","ts":"2026-10-01T00:00:00Z","crm_id":"c1","channel":"email","status":"maybe"}',
       "not json"]


@pytest.mark.parametrize("lines", [BAD, BAD[:1]])
def test_a_consent_file_whose_records_are_all_dead_letters_gets_the_hint(tmp_path, capsys, lines):
    err = _replay(tmp_path, _input(tmp_path, "\n".join(lines) + "\n"), capsys)
    assert "suppressed for consent" in err and "consent.jsonl" in err and "dead letter" in err


def test_a_consent_file_with_one_good_record_gets_none(tmp_path, capsys):
    good = '{"event_id":"k9","ts":"2026-10-01T00:00:00Z","crm_id":"other","channel":"email","status":"revoked"}'
    err = _replay(tmp_path, _input(tmp_path, "\n".join(BAD + [good]) + "\n"), capsys)
    assert "suppressed for consent" not in err
