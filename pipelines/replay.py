"""Bounded replay assembly: files in, decision topics and analyst tables out.

    ReadFiles → ParseAndValidate → ResolveIdentities → ShareAddressStatus → DecideForCustomers (horizon: the
        latest of the ``EventTimes``) → outputs (``transforms.outputs``) → files: topics (JSONL) + tables (Parquet)
        (``transforms.sinks.files``: one ``Outputs_<records>`` step per list of records, then ``WriteOutputs``)

Between its stages the replay moves lists, not single records (issue 22): ``ReadFiles`` emits lists of RawRecords,
``ParseAndValidate`` EventBatches (and lists of dead letters / field warnings), ``ResolveIdentities`` one
``(cluster, ClusterItems)`` per cluster and bundle, ``DecideForCustomers`` one list per output tag, and the file sink
one ``(destination file, list)`` per destination where the outputs are produced; Beam's per-element overhead and
its coders are paid per list (``transforms.coders``).  Topics and table rows are the same as per-record steps give.

The horizon (without ``--until``) is the latest event time of the *accepted* events: a record beyond
``--max_event_time`` (resolved once, at launch: :func:`replay_parse_config`) is a dead letter and moves nobody's.

Every step has a stable label (Dataflow's ``--update`` matches steps by label; a batch replay is never updated, and
its labels changed once, issue 22: fewer steps, each with a fixed cost per run).  The fixed cost of a run (a replay
of a tiny input) is also cut by :class:`~journeyflow.pipelines.options.ViewCachingOptions` and
the caches of :mod:`journeyflow.pipelines.fixed_cost`.
"""
from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

import apache_beam as beam
import msgspec
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from journeyflow.config.engine import EngineConfig
from journeyflow.model.decisions import AUDIT_TOPIC, DEAD_LETTER_TOPIC, FIELD_WARNINGS_TOPIC
from journeyflow.model.reasons import DEAD_AFTER_READ
from journeyflow.pipelines.fixed_cost import dofn_specs_once, signatures_once
from journeyflow.pipelines.options import (JourneyflowOptions, ViewCachingOptions, resolve_max_event_time,
                                          segment_mapping_config)
from journeyflow.pipelines.output import prepare_output, write_manifest
from journeyflow.stages.parse import DEFAULT_MAX_TS, ParseConfig, parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.transforms.address import ShareAddressStatus
from journeyflow.transforms.decide import DecideForCustomers, LatestOf
from journeyflow.transforms.identity import ResolveIdentities
from journeyflow.transforms.outputs import NAMESPACE, build_outputs
from journeyflow.transforms.parse import EVENTS, ParseAndValidate
from journeyflow.transforms.sinks import FileSink
from journeyflow.transforms.sources import ReadReplayFiles
from journeyflow.transforms.coders import Batch, EventBatch, typed

log = logging.getLogger(__name__)

#: Bounded pipelines run on Beam's FnApiRunner by default: DirectRunner semantics without first trying to
#: download the Prism runner binary (which fails offline).  Any --runner given on the command line wins.
DEFAULT_BOUNDED_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"


class ReplayArgumentError(ValueError):
    """A replay started without ``--input`` or ``--output``."""


#: Events per batch between the replay's stages (one Beam element per batch, not per event: issue 22).
EVENT_BATCH = 10_000


def _latest(batch) -> int:
    return max(e.ts for e in batch)


#: Tag of :class:`_SplitAtHorizonFn`'s dead letters (events dated after ``--until``).
AFTER_HORIZON = "after_horizon"


class _SplitAtHorizonFn(beam.DoFn):
    """EventBatch → the events dated at or before the horizon ``until`` (epoch ms; main output, an EventBatch) and,
    on tag :data:`AFTER_HORIZON`, the ``timestamp_out_of_range`` dead letters of the later ones (a list; the fold's
    own rule, :func:`journeyflow.stages.bounded._after_horizon`).  Before identity resolution, so a link of a later
    event (a login after ``--until``) neither merges customers nor appears in ``identity_links``; counter
    ``events_after_horizon``."""

    def __init__(self, until: int):
        self.until = until
        self.after = Metrics.counter(NAMESPACE, "events_after_horizon")

    def process(self, batch: list) -> Iterator[Any]:
        """Splits one batch; an empty side is not emitted."""
        from journeyflow.model.events import ADDRESS_STREAM
        from journeyflow.stages.bounded import _after_horizon
        until = self.until
        kept = EventBatch(e for e in batch if e.ts <= until)
        if len(kept) < len(batch):
            late = Batch(_after_horizon(e) for e in batch if e.ts > until and e.stream != ADDRESS_STREAM)
            self.after.inc(len(late))
            if late:
                yield beam.pvalue.TaggedOutput(AFTER_HORIZON, late)
        if kept:
            yield kept


def build_replay(p: beam.Pipeline, input_dir: str, output_dir: str, config: EngineConfig,
                 parse_config: ParseConfig = ParseConfig(), until: int | str | None = None) -> dict[str, Any]:
    """Adds the replay graph to ``p``: ``input_dir``'s stream files (``transforms.sources``) → ``output_dir``'s
    ``topics/`` and ``tables/``.  ``until``: the horizon in epoch ms, ``"end"`` (every pending timer fires), or
    None (the latest event time among the events ``parse_config`` accepts: a record outside its time range is a
    dead letter and moves nobody's horizon).  With a horizon in epoch ms, an event dated after it is a
    ``timestamp_out_of_range`` dead letter before identities are resolved (``SplitAtHorizon``): its links are
    neither applied nor listed in ``identity_links``.  Returns the main PCollections, by name (for tests)."""
    read = ReadReplayFiles(input_dir, chunk=EVENT_BATCH)
    records = p | "ReadFiles" >> read  # Batches of RawRecords
    parsed = records | "ParseAndValidate" >> ParseAndValidate(parse_config, batch=EVENT_BATCH)
    typed(records)  # (after ParseAndValidate's input check, which names RawRecord: its batch mode takes lists)
    events = parsed[EVENTS]  # EventBatches; every PCollection below holds lists or per-cluster lists
    after: tuple[beam.PCollection, ...] = ()
    if until is not None and until != "end":  # events after the horizon: dead letters, their links never applied
        split = events | "SplitAtHorizon" >> beam.ParDo(_SplitAtHorizonFn(int(until))).with_output_types(
            EventBatch).with_outputs(
            AFTER_HORIZON, main="kept")
        events, after = split.kept, (typed(split[AFTER_HORIZON]),)
    keyed, links = events | "ResolveIdentities" >> ResolveIdentities(config.link_rules())
    # an address's opt-outs and bounces reach every cluster holding the address (transforms.address)
    keyed = keyed | "ShareAddressStatus" >> ShareAddressStatus()
    if until is None:
        # (the latest of the batches' latest times, taken by the fold: no global combine step, issue 22)
        horizon = LatestOf(events | "EventTimes" >> beam.Map(_latest).with_output_types(int))
    else:
        horizon = END_OF_TIME if until == "end" else int(until)
    decided = keyed | "DecideForCustomers" >> DecideForCustomers(config, horizon, batched=True)
    outputs = build_outputs(decided, parsed, links, more_dead=after, batched=True)
    FileSink(output_dir).write(outputs, seed=read.listed)  # (its empty-output markers: no stage of their own)
    return {"events": events, "decisions": outputs.decisions, "dead": outputs.dead, "links": links,
            "warnings": outputs.warnings, "journey_steps": outputs.steps, "customer_snapshots": outputs.snapshots}


def replay_parse_config(jf: JourneyflowOptions, now_ms: int | None = None, declared_types=None) -> ParseConfig:
    """The replay's ParseConfig from its options: ``--default_region``, ``--merge_plus_addresses``,
    ``--segment_mapping`` (read and validated here: :func:`segment_mapping_config`) and ``--max_event_time`` resolved once, at launch, against the wall clock ``now_ms`` (epoch ms; default: now), so
    every worker applies the same absolute bound (never above the parser's absurd-time bound, year 2100).  Raises
    ValueError for a bad ``--max_event_time``.  ``declared_types``: the attributes file's property and trait types
    (``EngineConfig.declared_types``), enforced by the parser."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    bound = resolve_max_event_time(jf.max_event_time)
    return ParseConfig(default_region=jf.default_region, max_ts=min(DEFAULT_MAX_TS, bound.absolute(now)),
                       merge_plus_addresses=jf.merge_plus_addresses, declared_types=declared_types,
                       **segment_mapping_config(jf))


@dataclass
class ReplayJob:
    """A replay's settings, read from the command line by :meth:`from_argv`; :meth:`pipeline` builds its graph."""

    options: PipelineOptions
    input_dir: str
    output_dir: str
    config: EngineConfig
    parse_config: ParseConfig
    until: int | str | None  # epoch ms, "end", or None (the input's latest event time)

    @classmethod
    def from_argv(cls, argv: list[str] | None) -> "ReplayJob":
        """``argv``: JourneyflowOptions and Beam options (FnApiRunner unless ``--runner`` says otherwise).  Loads
        and validates the engine configuration (its errors propagate); raises :class:`ReplayArgumentError` without
        ``--input`` and ``--output`` and ``ValueError`` for a bad ``--until`` or ``--max_event_time`` (a relative
        one is resolved here, once: :func:`replay_parse_config`)."""
        opts = ViewCachingOptions(argv)  # (Beam re-parses the flags for every view: issue 22)
        jf = opts.view_as(JourneyflowOptions)
        if not jf.input or not jf.output:
            raise ReplayArgumentError("replay needs --input DIR and --output DIR")
        std = opts.view_as(StandardOptions)
        if not std.runner:
            std.runner = DEFAULT_BOUNDED_RUNNER
        config = EngineConfig.from_files(jf.journeys, jf.policy, jf.link_rules, jf.attributes,
                                         jf.segment_mapping)
        until: int | str | None = None
        if jf.until == "end":
            until = "end"
        elif jf.until:
            until = parse_ts(jf.until)
        return cls(opts, jf.input, jf.output, config, replay_parse_config(jf, declared_types=config.declared_types()),
                   until)

    def pipeline(self) -> beam.Pipeline:
        """A new pipeline with the replay graph (:func:`build_replay`), not yet run."""
        p = beam.Pipeline(options=self.options)
        build_replay(p, self.input_dir, self.output_dir, self.config, self.parse_config, self.until)
        return p


@dataclass
class ReplaySummary:
    """What a replay did, as printed by ``journeyflow replay``: records read and events decided on (the pipeline's
    counters), dead letters by reason, decisions by (action, channel), suppressed candidates by reason, field
    warnings by reason and the number of customers decided on (from the output topics), the latest accepted event
    time it ran with (epoch ms) and the wall time in seconds."""

    records_read: int = 0
    events_decided: int = 0
    dead_letters: Counter = field(default_factory=Counter)
    decisions: Counter = field(default_factory=Counter)  # (action, channel)
    suppressions: Counter = field(default_factory=Counter)  # reason
    field_warnings: Counter = field(default_factory=Counter)  # reason, of records kept
    #: field warnings of records dead-lettered after they were read (dated after --until, a duplicate's second copy:
    #: not kept, not decided)
    field_warnings_of_dead_letters: int = 0
    max_event_time: int | None = None  # the accepted range's upper bound (epoch ms) this replay ran with
    horizon: int | str | None = None  # timers due up to it fired: epoch ms, "end", or None (nothing accepted)
    horizon_given: bool = False  # by --until (else: the latest accepted event time)
    wall_seconds: float = 0.0
    customers: int = 0
    condition_errors: int = 0  # conditions that failed at run time (a CEL error), counted as false
    condition_non_bool: int = 0  # conditions whose result was not a bool, counted as false

    @property
    def reconciles(self) -> bool:
        """Every record read is accounted for: decided on, or a dead letter."""
        return self.records_read == self.events_decided + sum(self.dead_letters.values())

    def render(self) -> str:
        """The summary as aligned text lines."""
        lines = [f"records read        {self.records_read:>9}",
                 f"events decided on   {self.events_decided:>9}",
                 f"dead letters        {sum(self.dead_letters.values()):>9}"]
        lines += [f"  {r:<30}{n:>8}" for r, n in sorted(self.dead_letters.items())]
        lines.append("accounting          " + ("OK: read = decided + dead letters" if self.reconciles
                                              else "MISMATCH: read != decided + dead letters"))
        lines.append(f"decisions           {sum(self.decisions.values()):>9}")
        lines += [f"  {a + ' ' + (c or '-'):<30}{n:>8}" for (a, c), n in sorted(self.decisions.items(),
                                                                          key=lambda kv: (kv[0][0], kv[0][1] or ""))]
        lines.append(f"suppressed candidates {sum(self.suppressions.values()):>7}")
        lines += [f"  {r:<30}{n:>8}" for r, n in sorted(self.suppressions.items())]
        lines.append(f"field warnings      {sum(self.field_warnings.values()):>9}"
                     "  (optional fields dropped/replaced, records kept)")
        lines += [f"  {r:<30}{n:>8}" for r, n in sorted(self.field_warnings.items())]
        if self.field_warnings_of_dead_letters:
            lines.append(f"  {'+ of dead letters':<30}{self.field_warnings_of_dead_letters:>8}  (records dead-lettered "
                         "after they were read, after --until or a duplicate's copy: not kept)")
        if self.max_event_time is not None:
            lines.append(f"max event time      {_iso_ms(self.max_event_time)}  (--max_event_time: later records "
                         "are dead letters)")
        if self.horizon == "end":
            lines.append("horizon             end  (--until end: every pending timer fired)")
        elif self.horizon is not None:  # (a journey waiting past it decided nothing yet: a newcomer saw 0 decisions)
            lines.append(f"horizon             {_iso_ms(self.horizon)}  ("
                         + ("--until" if self.horizon_given else "the latest accepted event")
                         + "; timers due later did not fire: --until end fires them)")
        # messages that had nowhere to go (no deliverable address: none known, or all bounced): always shown
        lines.append(f"not sent: no address {self.suppressions.get('no_address', 0):>8}")
        lines.append(f"condition errors    {self.condition_errors + self.condition_non_bool:>9}"
                     f"  (counted as false: {self.condition_errors} CEL errors, {self.condition_non_bool} "
                     f"non-bool results)")
        lines.append(f"wall time           {self.wall_seconds:>8.1f}s  (the pipeline: from building its graph to "
                     "its end; start-up and imports not included)")
        return "\n".join(lines)


def _iso_ms(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def _event_times(result) -> dict[str, Any]:
    """``{"min", "max", "count"}`` of the accepted events' times (epoch ms; the ``event_time`` distribution) and
    their ISO forms; None values when nothing was accepted."""
    from apache_beam.metrics.metric import MetricsFilter
    res = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name("event_time"))
    dists = [d.committed or d.attempted for d in res["distributions"]]
    dists = [d for d in dists if d is not None and d.count]
    lo = min((d.min for d in dists), default=None)
    hi = max((d.max for d in dists), default=None)
    return _iso_times({"min": lo, "max": hi, "count": sum(d.count for d in dists)})


def _iso_times(times: dict[str, Any]) -> dict[str, Any]:
    """``times`` (``{"min", "max", "count"}``, epoch ms or None) with ``min_iso`` / ``max_iso`` added."""
    lo, hi = times["min"], times["max"]
    return {**times, "min_iso": _iso_ms(lo) if lo is not None else None,
            "max_iso": _iso_ms(hi) if hi is not None else None}


def _counter_value(result, name: str) -> int:
    from apache_beam.metrics.metric import MetricsFilter
    res = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))
    return int(sum(c.committed or c.attempted or 0 for c in res["counters"]))


def _after_merges(output_dir: str, customer_ids: set) -> set:
    """``customer_ids`` (the ids decisions carry: canonical at decision time) mapped to the customer each belongs to
    after identity merges: the ``customer_snapshots`` row holding the id among its ``identifiers`` (an anonymous
    visitor decided on before the login that merged it into a CRM customer is that customer; the report's and the
    example queries' ``id_map``).  Unchanged without snapshots."""
    from journeyflow.analytics.tables import read_table
    if not os.path.isdir(os.path.join(output_dir, "tables", "customer_snapshots")):
        return customer_ids
    final: dict = {}
    snaps = read_table(output_dir, "customer_snapshots").select(["customer_id", "identifiers"]).to_pylist()
    for snap in snaps:  # (a replay writes one snapshot per customer)
        for k in (*(snap["identifiers"] or ()), snap["customer_id"]):
            final[k] = snap["customer_id"]
    return {final.get(c, c) for c in customer_ids}


class _Candidate(msgspec.Struct):
    reason: Any


class _AuditLine(msgspec.Struct):
    action: Any
    channel: Any
    candidates: list[_Candidate]
    customer_id: Any = None


class _DeadLine(msgspec.Struct):
    reason: Any
    source: Any = None


class _WarningLine(msgspec.Struct):
    reason: Any
    stream: Any = None
    event_id: Any = None
    source: Any = None


class _Lines:
    """A typed decoder of the topic lines :func:`summarize` reads (only the fields it counts): about half the cost
    of ``json.loads`` of the whole object per line (issue 22: the summary is part of a replay's cost), the same
    values.  A line msgspec refuses (it rejects a lone UTF-16 surrogate escape, ``"\\ud800"``, which ``json``
    reads and a field warning's value may hold) is read by ``json.loads`` and converted; a line missing a required
    field raises ``msgspec.ValidationError``."""

    __slots__ = ("type", "_decode")

    def __init__(self, type_: type):
        self.type, self._decode = type_, msgspec.json.Decoder(type_).decode

    def decode(self, line: bytes) -> Any:
        """One line → its struct."""
        try:
            return self._decode(line)
        except msgspec.DecodeError:
            return msgspec.convert(json.loads(line), self.type)


class _SummaryLines:
    """The decoders of :func:`summarize`'s three topics."""

    audit = _Lines(_AuditLine)
    dead = _Lines(_DeadLine)
    warning = _Lines(_WarningLine)


def summarize(output_dir: str, result=None) -> ReplaySummary:
    """The :class:`ReplaySummary` of a replay's local ``output_dir`` (its audit, dead-letter and field-warnings topic
    files) and,
    given the ``PipelineResult``, of its counters."""
    s = ReplaySummary()
    topics = os.path.join(output_dir, "topics")
    customers = set()
    decode = _SummaryLines.audit.decode
    with open(os.path.join(topics, f"{AUDIT_TOPIC}.jsonl"), "rb") as f:
        for line in f:
            d = decode(line)
            customers.add(d.customer_id)
            s.decisions[(d.action, d.channel)] += 1
            for c in d.candidates:
                s.suppressions[c.reason] += 1
    gone, twice = set(), set()  # uids of events dead-lettered after they were read (their warnings were written)
    decode = _SummaryLines.dead.decode
    with open(os.path.join(topics, f"{DEAD_LETTER_TOPIC}.jsonl"), "rb") as f:
        for line in f:
            d = decode(line)
            s.dead_letters[d.reason] += 1
            if d.reason in DEAD_AFTER_READ:
                gone.add(d.source)
            elif d.reason == "duplicate_event":  # (a copy read again: its warnings are not a kept record's)
                twice.add(d.source)
    warnings_path = os.path.join(topics, f"{FIELD_WARNINGS_TOPIC}.jsonl")
    if os.path.exists(warnings_path):
        with open(warnings_path, "rb") as f:
            warned = [(f"{w.stream}/{w.event_id}", str(w.source), w) for w in map(_SummaryLines.warning.decode, f)]
        first: dict[str, str] = {}  # uid -> the input line of the copy kept (of a record read twice: the first)
        for uid, src, _ in warned:
            first[uid] = min(first.get(uid, src), src)
        for uid, src, w in warned:
            if uid in gone or (uid in twice and src != first[uid]):
                s.field_warnings_of_dead_letters += 1
            else:
                s.field_warnings[w.reason] += 1
    s.customers = len(_after_merges(output_dir, customers))
    if result is not None:
        s.records_read = _counter_value(result, "records_read")
        s.events_decided = _counter_value(result, "events_decided")
        s.condition_errors = _counter_value(result, "condition_errors")
        s.condition_non_bool = _counter_value(result, "condition_non_bool")
    return s


#: The garbage collector's thresholds while a replay runs in this process (:func:`replay_gc`).
REPLAY_GC_THRESHOLD = (50_000, 20, 100)


@contextmanager
def replay_gc(threshold: tuple[int, int, int] = REPLAY_GC_THRESHOLD) -> Iterator[None]:
    """Raises the garbage collector's thresholds to at least ``threshold`` (allocations per generation-0 pass,
    then passes per older generation: Python's ``gc.set_threshold``) for the block, and restores them after.

    A local replay holds every PCollection of the FnApiRunner in memory (issue 22), and with Python's default
    (700, 10, 10) the collector walks those millions of live records again and again: 22% of a demo replay's CPU
    (22.4 → 17.5 s; the plain-Python same work, ``tools.bench_plain``, which runs under the same setting: 15.1 →
    13.0 s).  Reference cycles are still collected, less often."""
    old = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(old, threshold)))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run_replay(argv: list[str] | None = None, overwrite: bool = False) -> ReplaySummary:
    """Runs a replay with ``argv`` (see :meth:`ReplayJob.from_argv`), waits for it and summarizes its local output
    directory (wall time: from building the graph to the end of the run).  Exits (``SystemExit``) without
    ``--input`` and ``--output``.  Runs with the garbage collector's thresholds of :func:`replay_gc`, each DoFn's state and timer
    specs and each function's signature worked out once (:mod:`journeyflow.pipelines.fixed_cost`).

    A local ``--output`` must be empty or missing unless ``overwrite`` (which replaces only the replay's own
    ``topics/``, ``tables/`` and ``run.json``; raises :class:`~journeyflow.pipelines.output.OutputNotEmptyError`);
    the pipeline writes into a staging folder beside it, moved into place after the run, with the run manifest
    (:mod:`journeyflow.pipelines.output`).  A failed or interrupted run leaves the target as it was."""
    with replay_gc(), dofn_specs_once(), signatures_once():
        return _run_replay(argv, overwrite)


def _run_replay(argv: list[str] | None, overwrite: bool) -> ReplaySummary:
    try:
        job = ReplayJob.from_argv(argv)
    except ReplayArgumentError as e:
        raise SystemExit(str(e)) from None
    staged = prepare_output(job.output_dir, overwrite)
    target = job.output_dir
    if staged is not None:
        job.output_dir = str(staged.staging)
    try:
        t0 = time.perf_counter()
        from journeyflow.pipelines.replay_buckets import bucket_count, run_bucketed
        buckets = bucket_count(job)
        if buckets > 1:  # a local replay of a large input: bucket by bucket, flat memory (pipelines.replay_buckets)
            counts = run_bucketed(job, buckets)
            result, event_times = None, _iso_times(counts["event_times"])
            summary = summarize(job.output_dir)
            summary.records_read, summary.events_decided = counts["records_read"], counts["events_decided"]
            summary.condition_errors = counts["condition_errors"]
            summary.condition_non_bool = counts["condition_non_bool"]
        else:
            result = job.pipeline().run()
            result.wait_until_finish()
            summary = summarize(job.output_dir, result)
            event_times = _event_times(result)
        summary.max_event_time = job.parse_config.max_ts
        summary.horizon_given = job.until is not None
        summary.horizon = job.until if job.until is not None else event_times.get("max")
        summary.wall_seconds = time.perf_counter() - t0
        if staged is not None:
            _manifest(job, event_times, summary)
            staged.publish()
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    finally:
        job.output_dir = target
    return summary


def _manifest(job: ReplayJob, event_times: dict[str, Any], summary: ReplaySummary) -> None:
    """The run manifest (``run.json``) of ``job`` into its (staging) output folder."""
    from journeyflow.transforms.sources import replay_files
    jf = job.options.view_as(JourneyflowOptions)
    write_manifest(
        job.output_dir, input_dir=job.input_dir, files=replay_files(job.input_dir), config=job.config,
        parse_config=job.parse_config,
        options={"until": jf.until, "max_event_time": jf.max_event_time, "resolved_max_event_time":
                 _iso_ms(job.parse_config.max_ts), "default_region": jf.default_region,
                 "merge_plus_addresses": bool(jf.merge_plus_addresses)},
        event_times=event_times,
        summary={"records_read": summary.records_read, "events_decided": summary.events_decided,
                 "dead_letters": sum(summary.dead_letters.values()), "decisions": sum(summary.decisions.values()),
                 "customers": summary.customers, "reconciles": summary.reconciles})
