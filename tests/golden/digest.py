"""Digest of a replay's outputs, to prove a refactor changed nothing.

Topics are hashed byte for byte (``topics/<topic>.jsonl``); each table is read with pyarrow from all of its
``date=`` partitions, its rows are rendered as canonical JSON (sorted keys, ISO timestamps), sorted, and hashed, so
the digest does not depend on file or row-group order. The input files are hashed too, so a changed generator is
told apart from a changed pipeline.

Usage::

    python tests/golden/digest.py compute OUT [DATA]          # print the digest as JSON
    python tests/golden/digest.py check OUT DATA EXPECTED.json  # exit 1 and name what differs

Recorded digests: ``tests/golden/demo.json`` (``make demo``: 2,000 customers x 30 days, seed 7) and
``tests/golden/small.json`` (what ``tests/guarantees/test_golden.py`` replays: 150 customers x 10 days, seed 7).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import json
import sys
from pathlib import Path


def _canon(value):
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    return value


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def table_digest(table_dir: Path) -> dict:
    """``{"rows": n, "sha256": hex}`` of a hive-partitioned Parquet table, rows sorted as canonical JSON."""
    import pyarrow.parquet as pq

    lines = []
    for part in sorted(table_dir.glob("date=*/*.parquet")):
        date = part.parent.name.split("=", 1)[1]
        for row in pq.read_table(part).to_pylist():
            row = _canon(row)
            row["__partition"] = date
            lines.append(json.dumps(row, sort_keys=True, separators=(",", ":")))
    lines.sort()
    return {"rows": len(lines), "sha256": _sha("\n".join(lines).encode())}


def compute(out: Path, data: Path | None = None) -> dict:
    """The digest of an output folder (and of its input folder when given)."""
    digest: dict = {"topics": {}, "tables": {}}
    for topic in sorted((out / "topics").glob("*.jsonl")):
        raw = topic.read_bytes()
        digest["topics"][topic.stem] = {"lines": raw.count(b"\n"), "sha256": _sha(raw)}
    for table in sorted(p for p in (out / "tables").iterdir() if p.is_dir()):
        digest["tables"][table.name] = table_digest(table)
    if data is not None:
        digest["inputs"] = {p.name: _sha(p.read_bytes()) for p in sorted(data.glob("*.jsonl"))}
    return digest


def diff(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences between two digests (empty when equal)."""
    problems = []
    for section in ("inputs", "topics", "tables"):
        exp, act = expected.get(section, {}), actual.get(section, {})
        for name in sorted(set(exp) | set(act)):
            if exp.get(name) != act.get(name):
                problems.append(f"{section}/{name}: expected {exp.get(name)}, got {act.get(name)}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "compute":
        print(json.dumps(compute(Path(argv[1]), Path(argv[2]) if len(argv) > 2 else None), indent=1, sort_keys=True))
        return 0
    if len(argv) == 4 and argv[0] == "check":
        expected = json.loads(Path(argv[3]).read_text())
        problems = diff(expected, compute(Path(argv[1]), Path(argv[2])))
        for p in problems:
            print(p)
        print("outputs identical to the recorded digest" if not problems else f"{len(problems)} differences")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
