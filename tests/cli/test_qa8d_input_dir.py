"""``--input DIR`` of ``replay`` and ``compare`` as a data engineer gets it wrong: a stream file that is not Avro
although named ``.avro`` (an empty placeholder, a JSON export renamed), a path to a file instead of its folder, a
folder that does not exist, and stream files under names the pipeline does not read (``orders.json``,
``CRM.jsonl``, ``consent.jsonl.gz``) — which were skipped without a word, so a replay "succeeded" on a third of the
data.  Each is said before any work: exit 2 with one line naming the file, or a warning naming each ignored file
(exit 2 too for a stream that carries opt-outs: compliance fails safe)."""
from __future__ import annotations

import gzip
import json

import pytest

from journeyflow.cli import main

WEB = {"event_id": "w1", "ts": "2026-10-05T10:00:00Z", "anonymous_id": "dev-1", "type": "page_view"}


def _never(what: str):
    def called(*_a, **_k):
        raise AssertionError(f"{what} ran although --input was unusable")
    return called


@pytest.fixture(autouse=True)
def no_work(monkeypatch):
    import journeyflow.analytics.compare as compare
    import journeyflow.pipelines.replay as replay
    monkeypatch.setattr(replay, "run_replay", _never("replay"))
    monkeypatch.setattr(compare, "compare", _never("compare"))


def _args(cmd: str, inp, tmp_path) -> list[str]:
    return ["replay", "--input", str(inp), "--output", str(tmp_path / "out")] if cmd == "replay" else \
        ["compare", "--input", str(inp)]


@pytest.mark.parametrize("cmd", ["replay", "compare"])
@pytest.mark.parametrize("content", [b"", b'{"event_id": "o1"}\n', b"Obj\x01garbage"])
def test_an_avro_file_that_is_not_avro_is_named(cmd, content, tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "web.jsonl").write_text(json.dumps(WEB) + "\n")
    (inp / "orders.avro").write_bytes(content)
    assert main(_args(cmd, inp, tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(inp / "orders.avro") in err[0] and "Avro" in err[0], err


@pytest.mark.parametrize("cmd", ["replay", "compare"])
def test_a_file_or_a_missing_folder_as_input_is_named(cmd, tmp_path, capsys):
    f = tmp_path / "web.jsonl"
    f.write_text(json.dumps(WEB) + "\n")
    for inp, words in ((f, "is a file"), (tmp_path / "nowhere", "no such folder")):
        assert main(_args(cmd, inp, tmp_path)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(inp) in err[0] and words in err[0], err


@pytest.mark.parametrize("cmd", ["replay", "compare"])
def test_stream_files_under_names_that_are_not_read_are_warned_about(cmd, tmp_path, capsys, monkeypatch):
    import journeyflow.analytics.compare as compare
    import journeyflow.pipelines.replay as replay
    reached = []
    monkeypatch.setattr(replay, "run_replay", lambda *a, **k: reached.append(1) or (_ for _ in ()).throw(
        KeyboardInterrupt))
    monkeypatch.setattr(compare, "compare", lambda *a, **k: reached.append(1) or (_ for _ in ()).throw(
        KeyboardInterrupt))
    inp = tmp_path / "in"
    inp.mkdir()
    line = (json.dumps(WEB) + "\n").encode()
    (inp / "web.jsonl").write_bytes(line)
    ignored = ["orders.json", "Web.jsonl", "orders.jsonl.gz", "support.ndjson"]  # (no opt-out stream: below)
    for name in ignored:
        (inp / name).write_bytes(gzip.compress(line) if name.endswith(".gz") else line)
    (inp / "ground_truth.jsonl").write_bytes(line)  # the generator's other files: not stream files, no warning
    (inp / "notes.txt").write_text("x")
    main(_args(cmd, inp, tmp_path))
    err = capsys.readouterr().err
    assert reached == [1]  # a warning, not an error
    for name in ignored:
        assert str(inp / name) in err, (name, err)
    assert "ground_truth" not in err and "notes.txt" not in err and str(inp / "web.jsonl") not in err


def test_publish_names_the_stream_files_it_does_not_publish(tmp_path, capsys, monkeypatch):
    """``publish`` reads ``<stream>.jsonl`` only: an ``orders.avro`` beside ``web.jsonl`` (which ``replay`` reads)
    was left out of the load without a word."""
    import journeyflow.tools.pubsub as pubsub
    monkeypatch.setattr(pubsub, "check_access", lambda: (_ for _ in ()).throw(KeyboardInterrupt))
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "web.jsonl").write_text(json.dumps(WEB) + "\n")
    (inp / "orders.avro").write_bytes(b"")
    (inp / "support.JSONL").write_text(json.dumps(WEB) + "\n")
    assert main(["publish", "--project", "p", "--input", str(inp), "--rate", "10"]) == 130
    err = capsys.readouterr().err
    assert str(inp / "orders.avro") in err and str(inp / "support.JSONL") in err and str(inp / "web.jsonl") not in err


@pytest.mark.parametrize("cmd", ["replay", "compare"])
@pytest.mark.parametrize("name", ["consent.csv", "consent.jsonl.gz", "CRM.jsonl", "engagement.json", "track.ndjson"])
def test_an_unread_file_of_an_opt_out_stream_stops_the_command(cmd, name, tmp_path, capsys):
    """qa17a: a consent.csv beside orders.jsonl was only warned about and the payment retry email went to the
    customer who had revoked in it (exit 0).  Consent, engagement, crm and Segment files carry opt-outs and
    deletions: one the command would not read stops it (exit 2, one line naming the file and the fix)."""
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "web.jsonl").write_text(json.dumps(WEB) + "\n")
    (inp / name).write_text("event_id,ts,status\n")
    assert main(_args(cmd, inp, tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    stream = name.split(".")[0].lower()
    assert len(err) == 1 and str(inp / name) in err[0] and f"convert it to {stream}.jsonl" in err[0], err
