"""``journeyflow generate --out DIR`` into a folder that already holds files (QA round 3): the replay reads every
``<stream>.jsonl`` there, so a ``track.jsonl`` left by an earlier ``--segment_share`` run, or the six streams of a
sample population under an ``--inject_effect`` one, were replayed with the new files as one mixed population (the
injected-effect arms then no longer matched the generator's)."""
from __future__ import annotations

import json

from journeyflow.cli import main


def _gen(capsys, *argv: str) -> tuple[int, str]:
    code = main(["generate", *argv])
    return code, capsys.readouterr().err


def test_a_second_run_replaces_the_first_population(tmp_path, capsys):
    out = tmp_path / "data"
    assert _gen(capsys, "--out", str(out), "--customers", "20", "--days", "2", "--segment_share", "0.5")[0] == 0
    assert (out / "track.jsonl").exists()
    code, err = _gen(capsys, "--out", str(out), "--customers", "20", "--days", "2")
    assert code == 0 and "replaced the previous population" in err
    assert not (out / "track.jsonl").exists()  # every web record is in web.jsonl again: track would double them
    code, _ = _gen(capsys, "--out", str(out), "--customers", "30", "--inject_effect", "cart_abandonment=0.1")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["effect_truth.json", "orders.jsonl", "web.jsonl"]
    truth = json.loads((out / "effect_truth.json").read_text())
    assert truth["uplift"] == 0.1


def test_a_folder_of_real_input_is_refused(tmp_path, capsys):
    out = tmp_path / "prod"
    out.mkdir()
    (out / "web.jsonl").write_text('{"event_id": "e1"}\n')
    (out / "notes.txt").write_text("mine")
    code, err = _gen(capsys, "--out", str(out), "--customers", "5", "--days", "1")
    assert code == 2 and "did not write" in err
    assert (out / "web.jsonl").read_text() == '{"event_id": "e1"}\n' and sorted(p.name for p in out.iterdir()) == \
        ["notes.txt", "web.jsonl"]
