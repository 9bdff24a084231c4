"""Bounded replay in K hash buckets of the identity cluster: peak memory that does not grow with the population.

Beam's local runner (FnApiRunner) holds every PCollection of a bounded pipeline in memory, so one replay of the
whole input needs memory in proportion to the input (~3 KB per record, issue 22).  A bucketed replay runs the same
work in slices whose size is fixed:

1. **Spill** (one pass over the input): every file is read and parsed by the replay's own ``ReadLines`` and
   ``Parse`` DoFns (``transforms.sources``, ``transforms.parse``); events are pickled to a spill file, dead letters
   and field warnings to theirs, the identity links of each event (``event_links``) are kept, and the horizon
   (latest accepted event time) is tracked — the replay's ``EventTimes`` horizon.
2. **Resolve identities once** (``resolve_cluster_map``, the replay's ``ResolveGraph``), then key every spilled event
   by its final cluster (``ClusterKeyer``: ``KeyByCluster``) and write it to bucket ``crc32(cluster) mod K``;
   address-status copies (``ShareAddressStatus``) are computed from the holders and changes seen while keying
   and written to their holder's bucket.  Dead letters, field warnings and ``identity_links`` rows go round robin.
3. **Fold bucket by bucket**: each bucket is one Beam pipeline (:func:`build_bucket`) with the replay's own
   ``DecideForCustomers``, ``build_outputs`` and ``FileSink`` steps, writing ``OUT/.buckets/<b>/``.
4. **Merge** (:mod:`journeyflow.pipelines.replay_merge`): topic files are merged line by line (each bucket's topic
   file is sorted, so the merge is the same sorted file a single pipeline writes: byte-identical); each table
   partition's bucket files are k-way merged by the table's time column (the same rows; row order among equal
   times carries no meaning).

Memory: steps 1–2 keep the links, the cluster map and the address holders (a few identifiers per customer); steps
3–4 hold one bucket (``--buckets``; automatic: one bucket per :data:`RECORDS_PER_BUCKET` input records) or a few
record batches of each table piece being merged; the ``identity_links`` rows are made as they are written
(``resolve_cluster_map``), never all held.  The replay's counters are summed over the bucket pipelines (``records_read`` is
counted in step 1).

On Dataflow the single-pipeline replay (``pipelines.replay.build_replay``) is the right shape as it is: its
``GroupByCustomer`` and ``GroupByDestination`` run on the Dataflow Shuffle service, which spills to disk and
shards by key across workers, so no worker holds the whole input and buckets would only add passes.  Bucketing
applies to the local runners (FnApiRunner, DirectRunner) with a local output directory; ``--buckets 1`` turns it
off.
"""
from __future__ import annotations

import gc
import logging
import os
import pickle
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import apache_beam as beam
import fastavro

from journeyflow.model.events import Event
from journeyflow.pipelines.options import JourneyflowOptions
from journeyflow.pipelines.replay_merge import merge_tables, merge_topics
from journeyflow.stages.deliverability import changes, fan_out, holds
from journeyflow.stages.json_text import jsonl_lines
from journeyflow.stages.identity.clusters import KEYER_TUPLES, ClusterKeyer, resolve_cluster_map
from journeyflow.stages.identity.opt_outs import cluster_copies
from journeyflow.stages.bounded import _after_horizon
from journeyflow.stages.identity.rules import LinkRecord, event_links
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.transforms import parse as tparse
from journeyflow.transforms.coders import KEYED_ITEMS, Batch, ClusterItems
from journeyflow.transforms.decide import DecideForCustomers
from journeyflow.transforms.outputs import build_outputs
from journeyflow.transforms.sinks import FileSink
from journeyflow.transforms.sources import _ReadFileFn, replay_files

log = logging.getLogger(__name__)

#: Input records per bucket when ``--buckets`` is not given (a bucket's pipeline peaks at ~500 MiB RSS locally).
RECORDS_PER_BUCKET = 100_000
#: Runners the bucketed replay applies to (Beam's local runners; everything else runs one pipeline).
LOCAL_RUNNERS = ("apache_beam.runners.portability.fn_api_runner.FnApiRunner", "FnApiRunner", "DirectRunner",
                 "BundleBasedDirectRunner", "apache_beam.runners.direct.direct_runner.DirectRunner")
#: Where the bucket spills and outputs live, under the output directory (removed after the merge).
WORK_DIR = ".buckets"


# ------------------------------------------------------------------------------------------------ spill files
def _dump(f, obj: Any) -> None:
    pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def read_spill(path: str) -> Iterator[Any]:
    """Every object pickled to ``path`` by this module, in order (nothing for a missing file)."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        while True:
            try:  # one Unpickler per object: each was pickled on its own (memo indices restart at 0)
                yield pickle.load(f)
            except EOFError:
                return


def bucket_of(cluster: str, buckets: int) -> int:
    """The bucket of a cluster id: ``crc32(cluster) mod buckets`` (stable across processes and runs)."""
    return zlib.crc32(cluster.encode()) % buckets


def count_records(input_dir: str) -> int:
    """Records in ``input_dir``'s stream files as the replay's reader splits them (JSONL: non-blank lines, a Segment
    batch envelope one record per message: ``stages.segment.batch.batch_count``; Avro: the blocks' record counts).
    (A line of 500 batched messages counted as one record: a large Segment export ran in too few buckets.)"""
    from journeyflow.model.events import SEGMENT_STREAM
    from journeyflow.stages.segment.batch import batch_count
    n = 0
    for stream, path in replay_files(input_dir):
        with open(path, "rb") as f:
            if path.endswith(".avro"):
                n += sum(block.num_records for block in fastavro.block_reader(f))
            elif stream != SEGMENT_STREAM:
                n += sum(1 for _i, line in jsonl_lines(f) if line.strip())
            else:
                for _i, line in jsonl_lines(f):
                    if line.strip():
                        k = batch_count(line)
                        n += 1 if k is None else k
    return n


def records_at_most(input_dir: str) -> int | None:
    """An upper bound of :func:`count_records` without reading record by record: per JSONL file of a built-in
    stream, its line ends (LF and CR bytes, whatever the encoding: a UTF-16 line end holds one too) plus one;
    None when the input has Segment or Avro files (a batch envelope's line holds many records: only the exact count
    knows).  One ``bytes.count`` per MiB (a second one only for a MiB holding a CR byte: a search finds none in
    most files, at a fraction of a count's cost): the exact count read every line in Python (~0.7 µs a record,
    paid by every replay before it starts, issue 22)."""
    from journeyflow.model.events import SEGMENT_STREAM
    bound = 0
    for stream, path in replay_files(input_dir):
        if path.endswith(".avro") or stream == SEGMENT_STREAM:
            return None
        bound += 1
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                bound += chunk.count(b"\n")
                if b"\r" in chunk:  # (a search, far cheaper than a count: most files have no CR)
                    bound += chunk.count(b"\r")
    return bound


def bucket_count(job, records: int | None = None) -> int:
    """K for ``job`` (a :class:`~journeyflow.pipelines.replay.ReplayJob`): ``--buckets`` when given, else one
    per :data:`RECORDS_PER_BUCKET` input records; always 1 off the local runners or for a remote output."""
    runner = str(job.options.get_all_options().get("runner") or "")
    if runner not in LOCAL_RUNNERS or "://" in job.output_dir or "://" in job.input_dir:
        return 1
    given = job.options.view_as(JourneyflowOptions).buckets
    if given is not None:
        if int(given) < 1:
            raise ValueError(f"--buckets {given}: must be 1 or more")
        return int(given)
    if records is None:
        bound = records_at_most(job.input_dir)  # (most local inputs: one bucket, known without counting records)
        records = bound if bound is not None and bound <= RECORDS_PER_BUCKET else count_records(job.input_dir)
    return max(1, -(-records // RECORDS_PER_BUCKET))


# ------------------------------------------------------------------------------------------------ 1 + 2
@dataclass
class Spill:
    """What the spill pass found: ``records_read``, the latest accepted event time (``horizon``; None without
    events) and the bucket directories ``dirs[b]`` with ``items.pkl`` (keyed items), ``dead.pkl`` (parse dead
    letters), ``warnings.pkl`` (field warnings) and ``links.pkl`` (``identity_links`` rows)."""

    records_read: int = 0
    horizon: int | None = None
    dirs: list[str] = field(default_factory=list)
    earliest: int | None = None  # the earliest accepted event time (epoch ms; the run manifest's input range)
    events: int = 0  # accepted events
    peak: str = "?"  # peak RSS of the process that spilled (``VmHWM``, for the progress log)


def _parse_all(job, work: str, rules) -> tuple[Spill, list]:
    """Step 1: every record read and parsed once; events to ``events.pkl``, dead letters and warnings to theirs."""
    spill = Spill()
    reader = _ReadFileFn()
    parser = tparse.ParseRecordFn(job.parse_config)
    parser.setup()
    links: list = []
    # an absolute --until: later events are dead letters before identities (the one-pipeline replay's SplitAtHorizon)
    cut = None if job.until is None or job.until == "end" else int(job.until)
    with open(os.path.join(work, "events.pkl"), "wb") as fe, open(os.path.join(work, "dead.pkl"), "wb") as fd, \
            open(os.path.join(work, "warnings.pkl"), "wb") as fw:
        for stream_path in replay_files(job.input_dir):
            for rec in reader.process(stream_path):
                spill.records_read += 1
                for out in parser.process(rec):
                    if isinstance(out, Event) and cut is not None and out.ts > cut:
                        _dump(fd, _after_horizon(out))  # (neither decided nor linked: not in identity_links)
                    elif isinstance(out, Event):
                        _dump(fe, out)
                        links.extend(_interned(lk) for lk in event_links(out, rules))
                        spill.events += 1
                        if spill.horizon is None or out.ts > spill.horizon:
                            spill.horizon = out.ts
                        if spill.earliest is None or out.ts < spill.earliest:
                            spill.earliest = out.ts
                    elif out.tag == tparse.DEAD:
                        _dump(fd, out.value)
                    else:
                        _dump(fw, out.value)
    return spill, links


def _interned(lk: LinkRecord) -> LinkRecord:
    """``lk`` with its identifier keys and stream interned: an identifier takes part in many links, and the spill
    pass keeps every link of the input until the identities are resolved."""
    return LinkRecord(sys.intern(lk.a), sys.intern(lk.b), lk.ts, lk.event_id, sys.intern(lk.stream))


def spill_buckets(job, buckets: int, work: str) -> Spill:
    """Steps 1 and 2 (module doc): parse, resolve identities once, key and write every item to its bucket."""
    rules = job.config.link_rules()
    spill, links = _parse_all(job, work, rules)
    cmap, link_rows = resolve_cluster_map(links, rules)  # (rows made as they are written: not all held)
    del links
    spill.dirs = [os.path.join(work, f"{b:05d}") for b in range(buckets)]
    for d in spill.dirs:
        os.makedirs(d, exist_ok=True)
    _round_robin(spill.dirs, "links.pkl", link_rows)  # written (and freed) before the events are keyed
    del link_rows
    files = [open(os.path.join(d, "items.pkl"), "wb") for d in spill.dirs]
    try:
        held: dict[str, set[str]] = {}
        found: dict[str, list] = {}
        keyer = ClusterKeyer(cmap, rules, limit=KEYER_TUPLES)
        for ev in read_spill(os.path.join(work, "events.pkl")):
            item = keyer.key(ev)
            _dump(files[bucket_of(item[0], buckets)], item)
            if item[1][0] is not ev:  # an opt-out naming other clusters' identifiers: a copy to each (opt_outs)
                for other, copy in cluster_copies(ev, item[0], cmap.root_of):
                    _dump(files[bucket_of(other, buckets)], (other, copy))
            for key, cluster in holds(item):
                held.setdefault(key, set()).add(cluster)
            for key, change in changes(item):
                found.setdefault(key, []).append(change)
        del cmap, keyer
        for key in sorted(found):  # ShareAddressStatus: each change to every other holder of the address
            for holder, copy in fan_out(key, held.get(key, ()), found[key]):
                _dump(files[bucket_of(holder, buckets)], (holder, (copy, ())))
        del held, found
    finally:
        for f in files:
            f.close()
    os.remove(os.path.join(work, "events.pkl"))
    for name in ("dead.pkl", "warnings.pkl"):
        _round_robin(spill.dirs, name, read_spill(os.path.join(work, name)))
    return spill


def _spill_and_peak(job, buckets: int, work: str) -> "Spill":
    spill = spill_buckets(job, buckets, work)
    spill.peak = _peak()
    return spill


def spill_in_child(job, buckets: int, work: str) -> "Spill":
    """:func:`spill_buckets` in a forked child process (one at a time), so that the memory of steps 1-2 (the
    parser's caches, every link, the cluster map, the address holders: growing with the input) goes back to the
    operating system before the buckets are folded; CPython keeps a process's freed memory for its own later use,
    so in one process the bucket pipelines ran on top of it (100,000 customers: 585 MiB after the spill, 710 MiB
    peak, vs 565 MiB at 10,000).  In process where ``fork`` is not available.  Exceptions are re-raised here."""
    import multiprocessing
    if "fork" not in multiprocessing.get_all_start_methods():
        return _spill_and_peak(job, buckets, work)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(_spill_and_peak, (job, buckets, work))


def _round_robin(dirs: list[str], name: str, objs) -> None:
    """``objs`` spread over ``<dir>/<name>`` of every bucket directory in turn."""
    outs = [open(os.path.join(d, name), "wb") for d in dirs]
    try:
        for i, obj in enumerate(objs):
            _dump(outs[i % len(dirs)], obj)
    finally:
        for f in outs:
            f.close()


# ------------------------------------------------------------------------------------------------ 3
#: Records per list read from a bucket's dead-letter, field-warning and identity-link spill files.
SPILL_BATCH = 10_000


class _ReadSpillFn(beam.DoFn):
    """A spill file's path → its pickled objects, in lists of up to :data:`SPILL_BATCH` (the replay's batched
    outputs: ``transforms.outputs``)."""

    def process(self, path: str) -> Iterator[Batch]:
        """Yields the objects of ``path`` (:func:`read_spill`) as Batches."""
        batch = Batch()
        for obj in read_spill(path):
            batch.append(obj)
            if len(batch) >= SPILL_BATCH:
                yield batch
                batch = Batch()
        if batch:
            yield batch


class _ReadItemsFn(beam.DoFn):
    """A bucket's ``items.pkl`` → one ``(cluster, ClusterItems)`` per cluster (the replay's ``KeyByCluster``
    output shape)."""

    def process(self, path: str) -> Iterator[tuple[str, ClusterItems]]:
        """Groups the spilled ``(cluster, (event, links))`` items by cluster."""
        by_cluster: dict[str, ClusterItems] = {}
        for cluster, item in read_spill(path):
            items = by_cluster.get(cluster)
            if items is None:
                by_cluster[cluster] = items = ClusterItems()
            items.append(item)
        yield from by_cluster.items()


def build_bucket(p: beam.Pipeline, bucket_dir: str, output_dir: str, job, horizon: int | None) -> None:
    """Adds one bucket's pipeline to ``p``: its keyed items → ``DecideForCustomers`` (the replay's, batched, with
    the horizon found by the spill pass) → ``build_outputs`` (with the bucket's share of parse dead letters, field
    warnings and identity links) → ``FileSink(output_dir)``."""
    def spilled(label: str, name: str):
        return p | f"List{label}" >> beam.Create([os.path.join(bucket_dir, name)]) | label >> beam.ParDo(
            _ReadSpillFn())

    keyed = (p | "ListItems" >> beam.Create([os.path.join(bucket_dir, "items.pkl")])
             | "ReadItems" >> beam.ParDo(_ReadItemsFn()).with_output_types(KEYED_ITEMS))
    until = job.until
    until = END_OF_TIME if until == "end" else (horizon if until is None else int(until))
    decided = keyed | "DecideForCustomers" >> DecideForCustomers(job.config, until, batched=True)
    parsed = {tparse.DEAD: spilled("ReadDeadLetters", "dead.pkl"),
              tparse.WARNINGS: spilled("ReadFieldWarnings", "warnings.pkl")}
    outputs = build_outputs(decided, parsed, spilled("ReadIdentityLinks", "links.pkl"), batched=True)
    FileSink(output_dir).write(outputs)


# ------------------------------------------------------------------------------------------------ run
def _peak() -> str:
    """This process's peak RSS (``VmHWM``, Linux), for the progress log."""
    try:
        with open("/proc/self/status") as f:
            return next(line.split(None, 1)[1].strip() for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return "?"


def run_bucketed(job, buckets: int) -> dict[str, Any]:
    """Steps 1–4 for ``job`` with ``buckets`` buckets; returns what the single pipeline's metrics report:
    ``records_read``, ``events_decided``, ``condition_errors``, ``condition_non_bool`` (sums over the buckets) and
    ``event_times`` (``{"min", "max", "count"}`` of the accepted events, epoch ms).  The work directory
    ``OUT/.buckets-*`` is removed at the end."""
    from journeyflow.pipelines.replay import _counter_value
    os.makedirs(job.output_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=WORK_DIR + "-", dir=job.output_dir)
    try:
        spill = spill_in_child(job, buckets, work)
        log.info("replay: %d records spilled into %d buckets (spill process peak RSS %s; this process %s)",
                 spill.records_read, buckets, spill.peak, _peak())
        decided = errors = non_bool = 0
        outs = []
        for d in spill.dirs:
            out = os.path.join(d, "out")
            p = beam.Pipeline(options=job.options)
            build_bucket(p, d, out, job, spill.horizon)
            result = p.run()
            result.wait_until_finish()
            decided += _counter_value(result, "events_decided")
            errors += _counter_value(result, "condition_errors")
            non_bool += _counter_value(result, "condition_non_bool")
            os.remove(os.path.join(d, "items.pkl"))
            outs.append(out)
            del p, result
            gc.collect()
            log.info("replay: bucket %d/%d folded (peak RSS %s)", len(outs), buckets, _peak())
        merge_topics(outs, job.output_dir)
        merge_tables(outs, job.output_dir)
        log.info("replay: bucket outputs merged (peak RSS %s)", _peak())
        return {"records_read": spill.records_read, "events_decided": decided, "condition_errors": errors,
                "condition_non_bool": non_bool,
                "event_times": {"min": spill.earliest, "max": spill.horizon, "count": spill.events}}
    finally:
        shutil.rmtree(work, ignore_errors=True)
