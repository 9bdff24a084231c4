"""``journeyflow generate``: a deterministic multi-channel sample population (:func:`journeyflow.tools.generator.generate`).

Prints the records written per stream file (the replay's ``records read``: deliberately malformed lines included,
counted after a ``--segment_share`` move to ``track.jsonl``) and the malformed lines among them; exit 0.  On a terminal, a progress bar
(persons generated, events, elapsed, rate) on stderr."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from journeyflow.cli.common import fraction, hyphen_aliases, whole_number

HELP = "generate a deterministic multi-channel sample population"


def add_args(p: argparse.ArgumentParser) -> None:
    """``--out DIR [--customers N] [--days N] [--seed N] [--start ISO] [--malformed_rate F] [--segment_share F]
    [--inject_effect JOURNEY=UPLIFT [--effect_base_rate F]]``."""
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write <stream>.jsonl and the ground "
                                                               "truth into (created if needed; a previous "
                                                               "population there is replaced, other data refused)")
    p.add_argument("--customers", type=whole_number(1), default=1000, metavar="N",
                   help="number of persons to generate")
    p.add_argument("--days", type=whole_number(1), default=30, metavar="N",
                   help="length of the simulated period in days")
    p.add_argument("--seed", type=int, default=7, metavar="N",
                   help="random seed: the same seed, customers and days give the same files")
    p.add_argument("--start", type=_start, default="2026-10-01T00:00:00+00:00", metavar="ISO",
                   help="start of the simulated period: ISO-8601 with its UTC offset, e.g. 2026-10-01T00:00:00Z "
                        "(a date alone or a time without offset is refused, as replay --until refuses it)")
    p.add_argument("--malformed_rate", type=fraction(upper_open=True), default=0.02, metavar="F",
                   help="fraction of deliberately malformed lines per stream, in [0, 1)")
    p.add_argument("--segment_share", type=fraction(), default=0.0, metavar="F",
                   help="share of the customers whose web and order records are written as Segment-Spec messages "
                        "to track.jsonl instead, in [0, 1] (default 0: no track.jsonl)")
    p.add_argument("--inject_effect", metavar="JOURNEY=UPLIFT",
                   help="instead of the sample population, write one with a known effect: customers who enter "
                        "JOURNEY once and reach its goal with probability --effect_base_rate (control arm) or that "
                        "plus UPLIFT (treatment arm), e.g. cart_abandonment=0.15 (journeyflow.tools.generator.effect)")
    p.add_argument("--effect_base_rate", type=fraction(), default=0.3, metavar="F",
                   help="with --inject_effect: the control arm's goal rate, in [0, 1]")
    hyphen_aliases(p, "--malformed_rate", "--segment_share", "--inject_effect", "--effect_base_rate")


def _start(text: str) -> str:
    """argparse ``type`` of ``--start``: an ISO-8601 date-time with its UTC offset (``Z`` or ``+02:00``), else a
    usage error at parse time, before the ``--out`` folder is touched.  A date alone or a time without offset is
    refused (which zone?), as ``replay --until`` and ``validate --min_ts`` refuse it: it was read as UTC here."""
    from datetime import datetime
    s = text.strip()
    try:
        at = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date-time ({e}): {text!r}, e.g. "
                                         "2026-10-01T00:00:00+00:00") from None
    if at.tzinfo is None:
        fixed = (s if "T" in s or " " in s else f"{s}T00:00:00") + "Z"
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (which zone?): give one, e.g. {fixed} for "
                                         "UTC, as replay --until reads it")
    return text


#: What a generator run leaves beside the stream files: a folder holding one of them is a generated population.
GENERATOR_FILES = ("ground_truth.jsonl", "ground_truth_shared.jsonl", "malformed_expected.jsonl", "effect_truth.json")


def _input_files(out: Path) -> list[Path]:
    """The replay input files (``<stream>.jsonl`` / ``.avro`` of every stream, track included) and generator
    files present in ``out``."""
    from journeyflow.model.events import STREAMS
    names = [f"{s}.{ext}" for s in STREAMS for ext in ("jsonl", "avro")] + list(GENERATOR_FILES)
    return [out / n for n in names if (out / n).is_file()]


def prepare_out(out: str) -> list[Path]:
    """The files of a previous population in ``out`` that a new one replaces (a replay reads every
    ``<stream>.jsonl`` there, so a file a previous run left — ``track.jsonl`` of a ``--segment_share`` run, the six
    streams of a sample population under an ``--inject_effect`` one — would be replayed with the new files as one
    mixed population): the input and generator files of a folder the generator wrote before (it holds one of
    :data:`GENERATOR_FILES`).  Nothing is removed here (:func:`run` removes them once the new population is
    complete).  A folder with input files but none of the generator's is someone's data: ``UserError`` (exit 2)."""
    from journeyflow.config.errors import UserError
    path = Path(out)
    present = _input_files(path) if path.is_dir() else []
    if present and not any(p.name in GENERATOR_FILES for p in present):
        raise UserError(f"--out {out} holds input files that the generator did not write ({present[0].name}, …): "
                        f"generating there would mix them with the sample population; give another folder")
    return present


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Generate into a staging folder inside ``ns.out`` (a progress bar on stderr when it is a terminal), then
    replace the previous population there (:func:`prepare_out`) with it; returns 0.  A run that fails (a bad
    ``--inject_effect`` journey, rates out of range, Ctrl-C) leaves ``--out`` as it was: before, the previous
    population was deleted first, so a mistyped option cost the user their data."""
    import shutil
    import tempfile
    from journeyflow.cli.common import check_output_dir
    check_output_dir(ns.out, "--out")  # (a file, a path under a file, a read-only place: one line naming --out)
    present = prepare_out(ns.out)
    Path(ns.out).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".generate-staging-", dir=ns.out))
    try:
        lines = _generate(ns, str(staging))
        for p in present:
            p.unlink(missing_ok=True)
        for p in sorted(staging.iterdir()):
            p.replace(Path(ns.out) / p.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if present:
        print(f"replaced the previous population in {ns.out} ({len(present)} files)", file=sys.stderr)
    print("\n".join(lines))
    return 0


def _generate(ns: argparse.Namespace, out: str) -> list[str]:
    """Write the population ``ns`` asks for into ``out``; returns the lines to print."""
    if ns.inject_effect:
        from journeyflow.tools.generator.effect import generate_effect, parse_effect
        journey, uplift = parse_effect(ns.inject_effect)
        e = generate_effect(out, journey, uplift, customers=ns.customers, base_rate=ns.effect_base_rate,
                            seed=ns.seed)
        return [f"generated {e.customers} customers entering {e.journey} into {ns.out}: control {e.control} "
                f"({e.control_converted} reach the goal), treatment {e.treatment} ({e.treatment_converted}); "
                f"injected uplift {e.uplift:+.3f}"]
    from journeyflow.cli.progress import bar
    from journeyflow.tools.generator import generate
    with bar(ns.customers, "generate", unit=" persons") as b:
        def step(done: int, total: int, events: int) -> None:
            b.update(done - b.n)
            b.set_postfix_str(f"{events:,} events", refresh=False)
        s = generate(ns.customers, ns.days, ns.seed, out, start=ns.start, malformed_rate=ns.malformed_rate,
                     progress=step)
    moved = None
    if ns.segment_share:
        from journeyflow.tools.generator.segment import convert_dir
        moved = convert_dir(out, ns.segment_share, ns.seed)
    written = written_records(out)
    malformed = sum(s.malformed.values())
    lines = [f"generated {sum(written.values())} input records ({malformed} of them deliberately malformed) for "
             f"{ns.customers} customers over {ns.days} days into {ns.out}"]
    if moved is not None:
        lines.append(f"  moved {moved['web']} web and {moved['orders']} order records to track.jsonl as Segment "
                     "messages")
    lines += [f"  {stream:<12}{n:>9}  ({s.malformed.get(stream, 0)} malformed)" for stream, n in
              sorted(written.items())]
    return lines


def written_records(out: str) -> dict[str, int]:
    """Records per stream file of ``out`` as a replay reads them: the non-blank lines of each ``<stream>.jsonl``
    (what ``generate`` prints, so its figures are the replay's ``records read``, malformed lines included, and
    ``track.jsonl`` of a ``--segment_share`` run is counted after the move)."""
    from journeyflow.model.events import STREAMS
    counts = {}
    for stream in STREAMS:
        path = Path(out) / f"{stream}.jsonl"
        if path.is_file():
            with open(path, "rb") as f:
                counts[stream] = sum(1 for line in f if line.strip())
    return counts
