"""summarize reads the topic files with typed msgspec decoders (issue 22): the same counts as json.loads of every
line, including lines msgspec refuses (a lone UTF-16 surrogate escape, which json reads)."""
from __future__ import annotations

import json
from collections import Counter

from journeyflow.pipelines.replay import summarize


def _write(tmp_path, name: str, objs: list[dict]) -> None:
    topics = tmp_path / "topics"
    topics.mkdir(exist_ok=True)
    (topics / f"{name}.jsonl").write_text("".join(json.dumps(o, sort_keys=True) + "\n" for o in objs))


def test_summary_counts_every_line_even_a_lone_surrogate(tmp_path):
    _write(tmp_path, "decisions-audit", [
        {"action": "send", "channel": "email", "candidates": [{"reason": "consent"}], "customer_id": "crm:1"},
        {"action": "suppress", "channel": None, "candidates": [{"reason": "consent"}, {"reason": "frequency_cap"}],
         "customer_id": "crm:2", "detail": "\ud800"},
        {"action": "none", "channel": None, "candidates": []}])
    _write(tmp_path, "dead-letter", [
        {"reason": "duplicate_event", "source": "web/e1", "payload": "x\udc00"},
        {"reason": "timestamp_out_of_range", "source": "crm/c2"},
        {"reason": "invalid_json", "source": "web.jsonl:3"}])
    _write(tmp_path, "field-warnings", [
        {"reason": "wrong_type", "stream": "web", "event_id": "e1", "source": "web.jsonl:2", "value": "\ud800"},
        {"reason": "wrong_type", "stream": "web", "event_id": "e1", "source": "web.jsonl:9"},
        {"reason": "invalid_identifier", "stream": "crm", "event_id": "c1", "source": "crm.jsonl:1"},
        {"reason": "invalid_identifier", "stream": "crm", "event_id": "c2", "source": "crm.jsonl:4\ud800"}])
    s = summarize(str(tmp_path))
    assert s.decisions == Counter({("send", "email"): 1, ("suppress", None): 1, ("none", None): 1})
    assert s.suppressions == Counter({"consent": 2, "frequency_cap": 1})
    assert s.dead_letters == Counter({"duplicate_event": 1, "invalid_json": 1, "timestamp_out_of_range": 1})
    # the duplicate's second copy (web.jsonl:9) and the record dated out of range (crm/c2, its source holding a
    # lone surrogate) are dead letters' warnings; the kept copy's (web.jsonl:2) counts
    assert s.field_warnings == Counter({"wrong_type": 1, "invalid_identifier": 1})
    assert s.field_warnings_of_dead_letters == 2
    assert s.customers == 3  # crm:1, crm:2 and None (a decision without a customer id), no snapshots
