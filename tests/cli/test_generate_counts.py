"""``journeyflow generate``'s figures are what a replay of its folder reads (QA round 2 of issue 21)."""
from __future__ import annotations

from journeyflow.cli import main


def test_generate_prints_the_records_a_replay_will_read(tmp_path, capsys):
    """``generate`` printed the valid records only ("generated 476 records", web 199) while the files held the
    malformed lines too and, with --segment_share, web's records had moved to track.jsonl (87 lines in web.jsonl,
    track not listed): the replay then read 488.  Its figures are now the lines of each stream file."""
    out = tmp_path / "gen"
    assert main(["generate", "--out", str(out), "--customers", "30", "--days", "2", "--segment_share", "0.5",
                 "--malformed_rate", "0.05"]) == 0
    text = capsys.readouterr().out.splitlines()
    lines = {p.stem: sum(1 for x in p.read_text().splitlines() if x.strip()) for p in out.glob("*.jsonl")
             if p.stem not in ("ground_truth", "ground_truth_shared", "malformed_expected")}
    assert "track" in lines
    total = int(text[0].split()[1])
    assert total == sum(lines.values())
    shown = {parts[0]: int(parts[1]) for parts in (line.split() for line in text[1:]) if parts[0] in lines}
    assert shown == lines
