"""The replay's whole work in plain Python, without Beam: the "own work" reference of ``make bench`` (issue 22).

``bench_core`` times the decision path (parse, identity, fold).  A replay does more: it builds the decision,
dead-letter and field-warning messages and the rows of every analyst table, encodes them (JSON lines, Parquet)
and writes the files.  :func:`plain_replay` does all of that with the replay's own functions
(``transforms.outputs``' message builders and ``TABLE_ROWS`` (the table row builders), ``stages.snapshot.snapshot_row``, the
file sink's ``_topic_destinations`` / ``_table_destinations`` / ``_write_destination``) in one process and one
pass, so "Beam replay CPU / plain-Python CPU" compares the same work; the topic files it writes are compared
byte for byte with the replay's (:func:`same_topics`) to show that it is the same work.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def plain_replay(data: Path, out_dir: Path) -> dict[str, Any]:
    """Parse every stream file of ``data``, resolve identities, fold every cluster up to the input's latest event
    time and write the replay's topic files and tables under ``out_dir``.  Returns ``{"cpu_seconds", "records",
    "events", "decisions"}`` (CPU seconds of this process: ``time.process_time``).  Runs with the replay's
    garbage-collector thresholds (``pipelines.replay.replay_gc``), so both do their work under the same interpreter
    settings."""
    from journeyflow.pipelines.replay import replay_gc
    with replay_gc():
        return _plain_replay(data, out_dir)


def _plain_replay(data: Path, out_dir: Path) -> dict[str, Any]:
    from journeyflow.model.decisions import ALL_TOPICS
    from journeyflow.model.events import Event
    from journeyflow.model.tables import TABLES
    from journeyflow.pipelines.replay import ReplayJob
    from journeyflow.stages.bounded import fold_clusters, resolve_clusters
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.stages.parse import Parser
    from journeyflow.stages.snapshot import snapshot_row
    from journeyflow.transforms.outputs import (TABLE_ROWS, dead_letter_message, decision_messages,
                                               field_warning_message)
    from journeyflow.transforms.sinks.files import _table_destinations, _topic_destinations, _write_destination
    from journeyflow.transforms.sources import _ReadFileFn, replay_files

    job = ReplayJob.from_argv(["--input", str(data), "--output", str(out_dir)])  # the replay's config, parse options
    config, cfg = job.config, job.parse_config
    processor = config.build_processor()
    attributes, stale_ms = processor.engine.attributes, processor.engine.open_ticket_ms
    t = time.process_time()
    parser = Parser(Hasher.from_env(merge_plus_addresses=cfg.merge_plus_addresses), cfg)  # (``ParseRecordFn``)
    events: list[Event] = []
    dead: list = []
    warnings: list = []
    records = 0
    reader = _ReadFileFn()
    for stream_path in replay_files(str(data)):
        for rec in reader._records(stream_path):  # the replay's ``ReadLines``: the same records and sources
            records += 1
            res = parser.parse_full(rec.stream, rec.payload, rec.source, rec.received_at)
            if isinstance(res.result, Event):
                events.append(res.result)
                warnings.extend(res.warnings)
            else:
                dead.append(res.result)
    t_parse = time.process_time() - t
    until = max((e.ts for e in events), default=None)
    clusters = resolve_clusters(events, config.link_rules())
    destinations: dict[tuple[str, str, str], list] = {("topic", t_, ""): [] for t_ in ALL_TOPICS}
    destinations.update({("table", t_, "_schema"): [] for t_ in TABLES})

    def put(pairs) -> None:
        for key, payload in pairs:
            destinations.setdefault(key, []).append(payload)

    t_id = time.process_time() - t - t_parse
    all_decisions: list = []
    all_steps: list = []
    all_snapshots: list = []
    for _cluster, out in fold_clusters(clusters, processor, until):
        all_decisions.extend(out.decisions)
        all_steps.extend(out.steps)
        dead.extend(out.dead)
        all_snapshots.extend(snapshot_row(st, until, attributes=attributes, open_ticket_ms=stale_ms)
                             for st in out.final_states.values())
    t_fold = time.process_time() - t - t_parse - t_id
    decisions, steps, snapshots = len(all_decisions), len(all_steps), len(all_snapshots)
    put(_topic_destinations([m for d in all_decisions for m in decision_messages(d)]))
    put(_topic_destinations([dead_letter_message(d) for d in dead]))
    put(_topic_destinations([field_warning_message(w) for w in warnings]))
    records_of = {"decisions": all_decisions, "steps": all_steps, "snapshots": all_snapshots,
                  "links": clusters.link_rows, "dead": dead, "warnings": warnings}
    tables = {}
    for name, (source, _label, builder, flat) in TABLE_ROWS.items():  # the replay's own mapping
        recs = records_of[source]
        tables[name] = (recs if builder is None else
                        [r for x in recs for r in builder(x)] if flat else [builder(x) for x in recs])
    for name, rows in tables.items():
        if rows:
            put(_table_destinations(rows, name))
    for key, payloads in destinations.items():
        _write_destination((key, payloads), str(out_dir))
    cpu = time.process_time() - t
    return {"cpu_seconds": cpu, "parse_cpu_seconds": t_parse, "identity_cpu_seconds": t_id,
            "fold_cpu_seconds": t_fold, "outputs_cpu_seconds": cpu - t_parse - t_id - t_fold, "records": records,
            "events": len(events), "decisions": decisions, "steps": steps, "snapshots": snapshots}


def same_topics(a: Path, b: Path) -> bool:
    """True when the two output directories hold byte-identical topic files (the same names)."""
    fa = sorted(p.name for p in (a / "topics").glob("*.jsonl"))
    fb = sorted(p.name for p in (b / "topics").glob("*.jsonl"))
    return fa == fb and all((a / "topics" / n).read_bytes() == (b / "topics" / n).read_bytes() for n in fa)
