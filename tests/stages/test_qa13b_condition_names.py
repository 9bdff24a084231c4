"""The replay summary names the conditions behind its "condition errors" count (qa13b, lead 4): journey id, step,
field and file:line, most failures first (``stages.conditions.FAILED``, ``cli.replay.failed_condition_lines``).
Before, it printed only a number, and a data engineer with several journeys could not tell which condition read a
property their events lack."""
from __future__ import annotations

import json
from collections import Counter

from journeyflow.cli import main
from journeyflow.cli.replay import MAX_NAMED_CONDITIONS, failed_condition_lines
from journeyflow.stages.conditions import compile_condition, condition_name, failed_conditions

JOURNEYS = """version: 1
journeys:
  - id: trial_end
    category: marketing
    priority: 100
    entry:
      event: Trial Ending Soon
      stream: track
      when: "event.properties.days_left <= 7"
    steps:
      - id: check
        branch:
          cases:
            - when: "event.properties.plan == 'trial'"
              next: mail
          else: mail
      - {id: mail, send: {channel: email, content_id: trial_ending_offer}}
"""


def _msg(mid: str, props: dict) -> str:
    return json.dumps({"type": "track", "event": "Trial Ending Soon", "messageId": mid, "userId": f"u-{mid}",
                       "timestamp": "2026-10-05T10:00:00Z", "properties": props})


def test_the_summary_names_each_failing_condition(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "track.jsonl").write_text("\n".join(
        [_msg("a", {}), _msg("b", {}), _msg("c", {"days_left": 3})]) + "\n")
    (tmp_path / "j.yaml").write_text(JOURNEYS)
    main(["replay", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--journeys",
          str(tmp_path / "j.yaml")])
    out = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(out) if line.startswith("condition errors"))
    assert out[at].split()[2] == "3"
    named = out[at + 1:at + 3]
    assert named[0].startswith("  journey 'trial_end': entry.when (") and "j.yaml:9): 2 (2 CEL errors)" in named[0]
    assert named[1].startswith("  journey 'trial_end', step 'check': branch.cases[0].when (")
    assert "j.yaml:14): 1 (1 CEL errors)" in named[1]


def test_a_condition_keeps_its_name_on_a_worker():
    import pickle
    c = compile_condition("event.properties.x > 1", "j.yaml:3: journeys[0].entry.when", None,
                          condition_name({"id": "j"}, ("journeys", 0, "entry", "when"),
                                         "j.yaml:3: journeys[0].entry.when"))
    w = pickle.loads(pickle.dumps(c))
    before = failed_conditions()
    assert w.evaluate({"event": {"properties": {}}, "customer": {}}) is False
    assert failed_conditions() - before == Counter({("journey 'j': entry.when (j.yaml:3)", "errors"): 1})


def test_many_conditions_and_unnamed_counts():
    failed = Counter({(f"journey 'j{i}': entry.when (j.yaml:{i})", "non_bool"): i + 1 for i in range(12)})
    lines = failed_condition_lines(failed, sum(failed.values()) + 5)
    assert len(lines) == MAX_NAMED_CONDITIONS + 2
    assert lines[0].startswith("  journey 'j11'") and "12 non-bool results" in lines[0]
    assert "2 more conditions" in lines[-2] and lines[-1].startswith("  5 evaluated in worker processes")
    assert failed_condition_lines(Counter(), 0) == []
