"""The bucketed local replay (pipelines.replay_buckets): how many buckets, where a cluster goes, how the buckets'
topic files merge.  Its outputs equal one pipeline's: tests/guarantees/test_golden.py replays in 3 buckets."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.pipelines import replay_buckets as rb
from journeyflow.pipelines import replay_merge as rm
from journeyflow.pipelines.replay import ReplayJob


def _input(tmp_path, lines: int):
    d = tmp_path / "in"
    d.mkdir()
    (d / "web.jsonl").write_text("".join(json.dumps({"event_id": f"e{i}"}) + "\n" for i in range(lines)) + "\n\n")
    return d


def _job(tmp_path, *extra, output=None):
    return ReplayJob.from_argv(["--input", str(_input(tmp_path, 5)), "--output", output or str(tmp_path / "out"),
                                *extra])


def test_buckets_given_automatic_and_off_the_local_runner(tmp_path, monkeypatch):
    job = _job(tmp_path, "--buckets", "4")
    assert rb.bucket_count(job) == 4
    auto = ReplayJob.from_argv(["--input", job.input_dir, "--output", str(tmp_path / "o2")])
    assert rb.count_records(auto.input_dir) == 5  # blank lines are not records
    assert rb.bucket_count(auto) == 1
    assert rb.bucket_count(auto, records=rb.RECORDS_PER_BUCKET * 2 + 1) == 3
    remote = ReplayJob.from_argv(["--input", job.input_dir, "--output", "gs://b/out", "--buckets", "4"])
    assert rb.bucket_count(remote) == 1  # Dataflow-style output: one pipeline
    with pytest.raises(ValueError, match="--buckets"):
        rb.bucket_count(ReplayJob.from_argv(["--input", job.input_dir, "--output", str(tmp_path / "o3"),
                                             "--buckets", "0"]))


def test_a_cluster_always_lands_in_the_same_bucket():
    assert rb.bucket_of("crm:C1", 7) == rb.bucket_of("crm:C1", 7)
    assert {rb.bucket_of(f"crm:C{i}", 7) for i in range(200)} == set(range(7))


def test_spill_files_read_back_every_object_in_order(tmp_path):
    path = tmp_path / "s.pkl"
    shared = ("email", "x")
    objs = [{"a": shared, "b": [shared]}, ("t", shared), {"a": ("other",), "b": shared}]
    with open(path, "wb") as f:
        for o in objs:
            rb._dump(f, o)
    assert list(rb.read_spill(str(path))) == objs  # each object pickled on its own: memo never shared
    assert list(rb.read_spill(str(tmp_path / "missing.pkl"))) == []


@pytest.mark.parametrize("batch_rows", [1, 3, 4096])
def test_table_merge_is_every_row_in_time_order_in_bounded_batches(tmp_path, monkeypatch, batch_rows):
    """Pieces sorted by time as a bucket's sink writes them (null times first, ties, an empty piece, one piece
    whose rows all share one time): the merged file holds every row once, in time order, ties keeping the order
    of the pieces when each piece fits in one batch."""
    import random
    monkeypatch.setattr(rm, "MERGE_BATCH_ROWS", batch_rows)
    rng = random.Random(7)
    schema = pa.schema([("ts", pa.timestamp("ms", tz="UTC")), ("row", pa.string())])
    pieces, every = [], []
    for i, n in enumerate([0, 1, 9, 25, 12]):
        times = sorted((rng.choice([None, 5, 7, 7, 1000, rng.randrange(10_000)]) for _ in range(n)),
                       key=lambda t: -1 if t is None else t)
        if i == 4:
            times = [7] * n  # one time only: every round takes the whole batch
        rows = [{"ts": t, "row": f"p{i}-{k}"} for k, t in enumerate(times)]
        every += rows
        path = tmp_path / f"p{i}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=4)
        pieces.append(str(path))
    out = tmp_path / "merged.parquet"
    assert rm.merge_sorted_parquet(pieces, str(out), "ts") == len(every)
    got = pq.read_table(out).to_pylist()
    def key(r):  # ms, None first (rows written as ints, read back as datetimes)
        t = r["ts"]
        return -1 if t is None else t if isinstance(t, int) else round(t.timestamp() * 1000)
    assert sorted(r["row"] for r in got) == sorted(r["row"] for r in every)
    assert [key(r) for r in got] == sorted(key(r) for r in every)
    if batch_rows >= 25:  # one round: the stable sort of the pieces in order
        assert [r["row"] for r in got] == [r["row"] for r in sorted(every, key=key)]


@pytest.mark.parametrize("write_rows", [1, 10, 1000])
def test_table_merge_writes_row_groups_of_at_least_the_write_size(tmp_path, monkeypatch, write_rows):
    """The merged rows are collected into row groups of MERGE_WRITE_ROWS rows or more (the last one excepted),
    whatever the read batches: the same rows in time order as with one row group per round."""
    import random
    monkeypatch.setattr(rm, "MERGE_BATCH_ROWS", 3)
    monkeypatch.setattr(rm, "MERGE_WRITE_ROWS", write_rows)
    rng = random.Random(11)
    schema = pa.schema([("ts", pa.int64()), ("row", pa.string())])
    pieces, every = [], []
    for i in range(4):
        rows = [{"ts": t, "row": f"p{i}-{k}"} for k, t in enumerate(sorted(rng.randrange(100) for _ in range(40)))]
        every += rows
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / f"p{i}.parquet")
        pieces.append(str(tmp_path / f"p{i}.parquet"))
    out = tmp_path / "merged.parquet"
    assert rm.merge_sorted_parquet(pieces, str(out), "ts") == 160
    got = pq.read_table(out).to_pylist()
    assert sorted(r["row"] for r in got) == sorted(r["row"] for r in every)
    assert [r["ts"] for r in got] == sorted(r["ts"] for r in every)
    meta = pq.ParquetFile(out).metadata
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    assert sum(sizes) == 160 and all(n >= write_rows for n in sizes[:-1])
    assert (sizes == [160]) if write_rows == 1000 else len(sizes) > 1  # (batches of 3 rows: many rounds)


@pytest.mark.parametrize("fan_in", [2, 3, 8])
def test_many_pieces_merge_in_rounds_into_the_same_sorted_rows(fan_in, tmp_path, monkeypatch):
    """More pieces than MERGE_FAN_IN (a 100,000-customer replay has 48 buckets): merged in rounds, each reading at
    most fan_in pieces; the same rows in time order, and no round file left beside the result."""
    import random
    monkeypatch.setattr(rm, "MERGE_FAN_IN", fan_in)
    read = []
    real = rm.merge_sorted_parquet
    monkeypatch.setattr(rm, "merge_sorted_parquet", lambda ps, d, c: read.append(len(ps)) or real(ps, d, c))
    rng = random.Random(3)
    schema = pa.schema([("ts", pa.int64()), ("row", pa.string())])
    pieces, every = [], []
    for i in range(11):
        rows = [{"ts": t, "row": f"p{i}-{k}"} for k, t in enumerate(sorted(rng.randrange(50) for _ in range(i * 3)))]
        every += rows
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / f"p{i}.parquet")
        pieces.append(str(tmp_path / f"p{i}.parquet"))
    out = tmp_path / "out" / "part-00000.parquet"
    out.parent.mkdir()
    assert rm.merge_in_rounds(pieces, str(out), "ts") == len(every)
    got = pq.read_table(out).to_pylist()
    assert sorted(r["row"] for r in got) == sorted(r["row"] for r in every)
    assert [r["ts"] for r in got] == sorted(r["ts"] for r in every)
    assert max(read) <= fan_in and len(read) > 1
    assert [p.name for p in out.parent.iterdir()] == ["part-00000.parquet"]


def test_topic_merge_is_the_sorted_file_of_all_lines(tmp_path):
    parts = []
    lines = [[b'{"a":1}', b'{"a":3}', b'{"b":"x"}'], [b'{"a":2}', b'{"a":22}', b'{"a":2,"c":1}'], []]
    for i, ls in enumerate(lines):
        d = tmp_path / f"b{i}" / "topics"
        d.mkdir(parents=True)
        for t in ALL_TOPICS:
            (d / f"{t}.jsonl").write_bytes(b"".join(x + b"\n" for x in sorted(ls)))  # as the sink writes
        parts.append(str(tmp_path / f"b{i}"))
    rm.merge_topics(parts, str(tmp_path / "out"))
    expected = b"".join(x + b"\n" for x in sorted(x for ls in lines for x in ls))
    for t in ALL_TOPICS:
        assert (tmp_path / "out" / "topics" / f"{t}.jsonl").read_bytes() == expected


def test_the_quick_bound_is_never_below_the_exact_count_and_decides_only_when_it_is_small(tmp_path, monkeypatch):
    d = tmp_path / "in"
    d.mkdir()
    rec = json.dumps({"event_id": "e"})
    (d / "web.jsonl").write_text(f"{rec}\n\n  \n[\n{rec},\n]\n{rec}")  # blank and framing lines, no final LF
    (d / "crm.jsonl").write_bytes(f"{rec}\r{rec}\r\n{rec}\r\r".encode())  # CR-only and CRLF line ends
    (d / "orders.jsonl").write_bytes(b"\xff\xfe" + f"{rec}\n{rec}\n".encode("utf-16-le"))  # UTF-16 with a BOM
    exact, bound = rb.count_records(str(d)), rb.records_at_most(str(d))
    assert exact == 3 + 3 + 2
    assert bound >= exact
    job = ReplayJob.from_argv(["--input", str(d), "--output", str(tmp_path / "out")])
    assert rb.bucket_count(job) == 1
    monkeypatch.setattr(rb, "RECORDS_PER_BUCKET", 4)  # the bound (> 4) no longer decides: the exact count does
    calls = []
    monkeypatch.setattr(rb, "count_records", lambda path: calls.append(path) or exact)
    assert rb.bucket_count(job) == 2 and calls == [str(d)]
    monkeypatch.setattr(rb, "RECORDS_PER_BUCKET", bound)  # the bound is small enough: no record-by-record count
    assert rb.bucket_count(job) == 1 and calls == [str(d)]


def test_segment_and_avro_inputs_have_no_quick_bound(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "track.jsonl").write_text(json.dumps({"batch": [{"type": "track"}] * 3}) + "\n")
    assert rb.records_at_most(str(d)) is None  # one line, three records: only the exact count knows
    assert rb.count_records(str(d)) == 3
