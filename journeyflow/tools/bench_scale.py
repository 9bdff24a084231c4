"""``make bench-scale``: peak memory of the bounded replay at two population sizes (issue 22, "flat memory").

For each size the population is generated once (``journeyflow generate --customers N --days D --seed 7``; the
generator's own CPU seconds and peak RSS are reported, it must scale too), then replayed in a child process with the
default options (the bucketed local replay, ``pipelines.replay_buckets``: one bucket per 100,000 records), and the
child's peak RSS (``VmHWM``, or its own child's, the spill process of ``pipelines.replay_buckets.spill_in_child``,
when higher) and CPU seconds (user+sys, both processes) are printed beside the targets:

- peak RSS of the largest size ≤ 2 GiB;
- peak RSS of the two sizes differ by < 25 %.

Figures go to ``bench/results/bench-scale.json``.  Long (the 100,000-customer input is ~4.9M records): run it on
its own, not in ``make bench``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

_CHILD = """
import logging, resource, sys, time
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="LOG %(message)s")
for name in ("journeyflow.pipelines.replay_buckets", "pipelines.replay_buckets"):  # the phases' peak RSS
    logging.getLogger(name).setLevel(logging.INFO)
from journeyflow.pipelines.replay import run_replay
u0 = resource.getrusage(resource.RUSAGE_SELF)
s = run_replay(['--input', sys.argv[1], '--output', sys.argv[2], *sys.argv[3:]], overwrite=True)
u1 = resource.getrusage(resource.RUSAGE_SELF)
hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the spill process (pipelines.replay_buckets.spill_in_child)
print('RESULT', int(hwm), u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime + kids.ru_utime + kids.ru_stime,
      s.records_read, int(s.reconciles), kids.ru_maxrss)
"""


def _child_usage() -> tuple[float, int]:
    import resource
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime, u.ru_maxrss


def generate(customers: int, days: int, root: Path) -> tuple[Path, float | None]:
    """The population ``pop-<customers>-<days>-7`` under ``root`` (generated in a child process unless present)
    and the generator's CPU seconds (None when it was already there)."""
    out = root / f"pop-{customers}-{days}-7"
    if (out / "web.jsonl").exists():
        return out, None
    before, _ = _child_usage()
    subprocess.run([sys.executable, "-c", "import sys; from journeyflow.cli import main; sys.exit(main())", "generate",
                    "--customers", str(customers), "--days", str(days), "--seed", "7", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out, _child_usage()[0] - before


def replay(data: Path, out: Path, extra: list[str]) -> dict:
    """Replays ``data`` into ``out`` in a child process: peak RSS (MiB), CPU seconds, records, reconciles."""
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _CHILD, str(data), str(out), *extra], capture_output=True,
                         text=True)
    if res.returncode != 0:
        raise RuntimeError(f"the replay of {data} failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    line = next(x for x in res.stdout.splitlines() if x.startswith("RESULT"))
    phases = [x[4:] for x in res.stdout.splitlines() if x.startswith("LOG ") and "peak RSS" in x]
    _, kib, cpu, records, ok, kids_kib = line.split()
    # the replay's peak: its own process or its largest child (the spill process), whichever is higher
    return {"peak_rss_mib": max(int(kib), int(kids_kib)) / 1024, "replay_process_peak_mib": int(kib) / 1024,
            "spill_process_peak_mib": int(kids_kib) / 1024, "cpu_seconds": float(cpu), "records": int(records),
            "reconciles": bool(int(ok)), "wall_seconds": time.perf_counter() - t,
            "cpu_us_per_record": float(cpu) / max(int(records), 1) * 1e6,
            "phases": phases}  # the bucketed replay's progress lines: peak RSS after the spill and each bucket


def main(argv: list[str] | None = None) -> int:
    """Runs the scale bench (module doc); returns 0 when both targets hold, 1 otherwise."""
    ap = argparse.ArgumentParser(prog="journeyflow bench-scale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="customer counts, comma-separated (smallest first)")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--work", default="bench/work")
    ap.add_argument("--out", default="bench/results/bench-scale.json")
    ap.add_argument("replay_args", nargs="*", help="extra replay options (e.g. --buckets 20)")
    ns = ap.parse_args(argv)
    os.environ.setdefault("JOURNEYFLOW_HASH_KEY", "bench-key")
    work = Path(ns.work)
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"journeyflow bench-scale — {os.cpu_count()} cores, load average {load:.1f}")
    results = {"load_average": load, "sizes": {}}
    for n in [int(x) for x in ns.sizes.split(",")]:
        data, gen_cpu = generate(n, ns.days, work)
        r = replay(data, work / f"scale-out-{n}", ns.replay_args)
        r["generator_cpu_seconds"] = gen_cpu
        results["sizes"][n] = r
        gen = "" if gen_cpu is None else f", generated in {gen_cpu:.0f} s CPU"
        print(f"  {n:>7} customers, {r['records']:>9,} records{gen}: peak RSS {r['peak_rss_mib']:,.0f} MiB, "
              f"CPU {r['cpu_seconds']:,.0f} s ({r['cpu_us_per_record']:.0f} µs/record), "
              f"reconciles {r['reconciles']}", flush=True)
    peaks = [v["peak_rss_mib"] for v in results["sizes"].values()]
    growth = (max(peaks) - min(peaks)) / min(peaks)
    ok_peak, ok_flat = peaks[-1] <= 2048, growth < 0.25
    results.update(growth=growth, peak_ok=ok_peak, flat_ok=ok_flat)
    print(f"  {'peak RSS at the largest size':<58}{peaks[-1]:>12,.0f} MiB   target <= 2048 MiB")
    print(f"  {'peak RSS difference between the sizes':<58}{growth * 100:>14.1f} %   target < 25 %")
    Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.out).write_text(json.dumps(results, indent=2))
    return 0 if ok_peak and ok_flat else 1


if __name__ == "__main__":
    sys.exit(main())
