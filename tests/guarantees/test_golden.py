"""Refactors must not change what journeyflow decides: a small generated population is replayed and its outputs
(topics byte for byte, table rows as sorted rows) are compared with the digest recorded before the refactor.

A deliberate behavior change re-records it with
``python tests/golden/digest.py compute OUT DATA > tests/golden/small.json`` (and ``demo.json`` for ``make demo``),
and the commit says why the outputs changed.
"""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
import digest  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--buckets", "3"]], ids=["one-pipeline", "3-buckets"])
def test_replay_outputs_match_recorded_digest(tmp_path, monkeypatch, extra):
    """The same digest from one pipeline and from a replay folded in 3 hash buckets (pipelines.replay_buckets):
    topics byte for byte, tables row for row."""
    from journeyflow.tools.generator import generate
    from journeyflow.pipelines.replay import run_replay

    monkeypatch.chdir(tmp_path)  # dead letters name their source file by the path given to --input
    data, out = Path("data"), Path("out")
    generate(150, 10, 7, str(data))
    summary = run_replay(["--input", str(data), "--output", str(out), *extra])
    assert summary.reconciles
    assert not list(out.glob(".buckets*"))  # the bucket work directory is removed
    expected = json.loads((GOLDEN / "small.json").read_text())
    actual = digest.compute(out, data)
    assert digest.diff(expected, actual) == []
    assert actual["topics"]["decisions-audit"]["lines"] > 100


@pytest.mark.slow
def test_the_bench_plain_python_replay_does_the_same_work(tmp_path, monkeypatch):
    """``make bench`` compares the Beam replay's CPU with :func:`journeyflow.tools.bench_plain.plain_replay` (the same
    work without Beam): its outputs must be the recorded ones, topics byte for byte and tables row for row."""
    from journeyflow.tools.bench_plain import plain_replay
    from journeyflow.tools.generator import generate

    monkeypatch.chdir(tmp_path)
    data, out = Path("data"), Path("out")
    generate(150, 10, 7, str(data))
    got = plain_replay(data, out)
    assert got["records"] > got["events"] > 0 and got["cpu_seconds"] > 0
    assert digest.diff(json.loads((GOLDEN / "small.json").read_text()), digest.compute(out, data)) == []


def test_digest_sees_a_changed_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    part = tmp_path / "tables" / "t" / "date=2026-10-01"
    part.mkdir(parents=True)
    (tmp_path / "topics").mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), part / "part-00000.parquet")
    before = digest.compute(tmp_path)
    pq.write_table(pa.table({"a": [2, 1]}), part / "part-00000.parquet")
    assert digest.diff(before, digest.compute(tmp_path)) == []  # row order does not matter
    pq.write_table(pa.table({"a": [1, 3]}), part / "part-00000.parquet")
    assert digest.diff(before, digest.compute(tmp_path)) != []
