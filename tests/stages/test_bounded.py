"""The in-process bounded path (journeyflow.stages.bounded) is the replay's code: on the golden population it
produces the replay's recorded decisions byte for byte, and its identity links and snapshots row for row."""
import hashlib
import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_in_process_bounded_path_matches_the_recorded_replay(tmp_path):
    from journeyflow.analytics.compare import read_events
    from journeyflow.config.engine import EngineConfig
    from journeyflow.model.decisions import AUDIT_TOPIC
    from journeyflow.stages.bounded import fold_clusters, resolve_clusters
    from journeyflow.tools.generator import generate
    from journeyflow.transforms.outputs import decision_messages

    expected = json.loads((GOLDEN / "small.json").read_text())
    generate(150, 10, 7, str(tmp_path))  # the population tests/guarantees/test_golden.py replays
    events, _read, _dead = read_events(tmp_path)
    config = EngineConfig.from_files()
    clusters = resolve_clusters(events, config.link_rules())
    audit, snapshots = [], 0
    for _cluster, out in fold_clusters(clusters, config.build_processor(), max(e.ts for e in events)):
        audit += [m.data for d in out.decisions for m in decision_messages(d) if m.topic == AUDIT_TOPIC]
        snapshots += len(out.final_states)
    raw = b"".join(m + b"\n" for m in sorted(audit))
    assert hashlib.sha256(raw).hexdigest() == expected["topics"][AUDIT_TOPIC]["sha256"]
    assert len(clusters.link_rows) == expected["tables"]["identity_links"]["rows"]
    assert snapshots == expected["tables"]["customer_snapshots"]["rows"]
