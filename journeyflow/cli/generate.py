"""``journeyflow generate``: a deterministic multi-channel sample population (:func:`journeyflow.tools.generator.generate`).

Prints the record count per stream (and the malformed lines among them); exit 0."""
from __future__ import annotations

import argparse
import sys

HELP = "generate a deterministic multi-channel sample population"


def add_args(p: argparse.ArgumentParser) -> None:
    """``--customers N --days N --seed N --out DIR [--start ISO] [--malformed-rate F]``."""
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True)
    p.add_argument("--start", default="2026-10-01T00:00:00+00:00")
    p.add_argument("--malformed-rate", type=float, default=0.02)


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Generate into ``ns.out`` (progress on stderr when it is a terminal or for >= 5000 customers); returns 0."""
    from journeyflow.tools.generator import generate
    s = generate(ns.customers, ns.days, ns.seed, ns.out, start=ns.start, malformed_rate=ns.malformed_rate,
                 progress=sys.stderr.isatty() or ns.customers >= 5000)
    print(f"generated {s.total_records} records for {ns.customers} customers over {ns.days} days into {ns.out}")
    for stream, n in sorted(s.records.items()):
        print(f"  {stream:<12}{n:>9}  (malformed {s.malformed.get(stream, 0)})")
    return 0
