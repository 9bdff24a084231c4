"""``journeyflow replay``: files through the bounded pipeline (:func:`journeyflow.pipelines.replay.run_replay`).

Prints the replay summary; exit 0 when the record accounting reconciles (dead letters included: they are counted,
read = decided + dead letters), 3 when it does not, 1 when every record read was a dead letter (nothing decided:
an export in another format; ``--max_dead_letter_rate 1`` accepts it) or ``--max_dead_letter_rate F`` is given and
the dead letters are a larger share of the records read, 2 when ``--output`` is
not empty and ``--overwrite`` was not given (outputs go to a staging folder beside ``--output`` and are moved into
place when the run ends: :mod:`journeyflow.pipelines.output`; ``--overwrite`` also removes the ``OUT/report.html``
``journeyflow report`` wrote, which reported the replaced outputs).  journeyflow's pipeline
options are declared here (so ``--help`` lists them); any other option must be a Beam pipeline option
(``--help_beam`` lists them) and is passed on, a misspelled one is an error.  On a terminal, a progress line (input
records, elapsed) while the pipeline runs and the rate at the end."""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

HELP = "replay files through the pipeline (bounded)"

#: The epilog of ``replay --help`` and ``stream --help``: where the other options are.
BEAM_EPILOG = ("Any other option is an Apache Beam pipeline option, passed on to Beam (e.g. --runner\n"
               "DataflowRunner, --direct_num_workers 2, --project, --region, --temp_location); --help_beam lists\n"
               "them all.  A misspelled option is an error (exit 2).")


class _BeamHelp(argparse.Action):
    """``--help_beam``: print Beam's pipeline options and exit."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from journeyflow.pipelines.options import options_parser
        options_parser(include_journeyflow=False, prog=f"{parser.prog} [Beam options]").print_help()
        parser.exit()


def add_beam_help(p: argparse.ArgumentParser) -> None:
    """``--help_beam`` and the epilog that points to it (``replay`` and ``stream``)."""
    p.add_argument("--help_beam", action=_BeamHelp, help="list Apache Beam's pipeline options and exit")
    p.epilog = BEAM_EPILOG


def add_args(p: argparse.ArgumentParser) -> None:
    """``--input DIR --output DIR`` and the other replay options of :mod:`journeyflow.config.options`; other options
    go to Beam."""
    from journeyflow.config.options import REPLAY, add_pipeline_options
    add_pipeline_options(p, REPLAY, title="journeyflow pipeline options")
    for action in p._actions:  # noqa: SLF001
        if action.dest in ("input", "output"):
            action.required = True
    p.add_argument("--overwrite", action="store_true",
                   help="replay into a non-empty --output: replace its topics/, tables/ and run.json and remove the "
                        "report.html journeyflow report wrote from them (nothing else there is touched); without it "
                        "a non-empty --output is refused (exit 2)")
    from journeyflow.cli.common import fraction
    p.add_argument("--max_dead_letter_rate", type=fraction(), default=None, metavar="F",
                   help="exit 1 (a check failed; the outputs are written) when the dead letters are more than this "
                        "share of the records read, e.g. 0.05; without it only a run whose every record is a dead "
                        "letter (nothing decided) exits 1, and 1 accepts that too")
    add_beam_help(p)


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Run the replay with ``rest`` passed through to the pipeline options; 0 if it reconciles, else 3.  A local
    ``--output`` that cannot be a folder (it or a parent is a file, nothing can be created there) is refused
    before the pipeline is built (:func:`~journeyflow.cli.common.check_output_dir`, exit 2)."""
    from journeyflow.cli.common import phone_region, replay_until
    phone_region(ns.default_region)
    replay_until(ns.until)
    from journeyflow.pipelines.options import resolve_max_event_time
    resolve_max_event_time(ns.max_event_time)  # (checked again by the replay: here before any work)
    from journeyflow.cli.common import check_input_dir
    check_input_dir(ns.input)
    if "://" not in ns.output:  # gs:// and other Beam file systems are checked by the pipeline's writer
        from journeyflow.cli.common import check_output_dir
        check_output_dir(ns.output, "--output")
    from journeyflow.cli.progress import Ticker, count_input_records
    from journeyflow.config.options import REPLAY, to_argv
    from journeyflow.pipelines.replay import run_replay
    stale = _report_of_replaced_outputs(ns.output) if ns.overwrite else None
    records, size = count_input_records(ns.input)
    what = f"{records:,} input records ({size / 1e6:.1f} MB)" if records else ns.input
    from journeyflow.stages.conditions import failed_conditions
    failed_before = failed_conditions()
    with Ticker("replay", lambda: f"reading and deciding {what}") as t:
        summary = run_replay(to_argv(ns, REPLAY) + rest, overwrite=ns.overwrite)
    if stale is not None:  # the outputs it reported are replaced (a failed run raised above: it stays)
        stale.unlink(missing_ok=True)
        print(f"replay: removed {stale}: it reported the replaced outputs (journeyflow report {ns.output} writes "
              f"the new one)", file=sys.stderr)
    if t.enabled and summary.records_read:
        print(f"replay: {summary.records_read:,} records read, {summary.customers:,} customers decided in "
              f"{t.elapsed:.1f}s ({summary.records_read / max(t.elapsed, 1e-9):,.0f} records/s)", file=sys.stderr)
    lines = summary.render().split("\n")  # the failed conditions named under the "condition errors" line
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("condition errors")), len(lines))
    lines[at:at] = failed_condition_lines(failed_conditions() - failed_before,
                                          summary.condition_errors + summary.condition_non_bool)
    print("\n".join(lines))
    if not summary.records_read:  # (an empty export, a folder of empty files: every figure is 0, exit 0)
        print(f"journeyflow replay: warning: no record was read from --input {ns.input}: its stream files are empty",
              file=sys.stderr)
    if summary.suppressions.get("consent") and (why := _lacks_consent_input(ns.input, ns.segment_mapping,
                                                                           ns.output)):
        print(f"journeyflow replay: warning: {summary.suppressions['consent']:,} candidates were suppressed for "
              f"consent and --input {ns.input} {why}: the policy's 'granted' consent (marketing, sales) is then "
              "never given", file=sys.stderr)
    if not summary.reconciles:
        return 3
    return _dead_letter_check(summary, ns.input, getattr(ns, "max_dead_letter_rate", None))


#: Most conditions named under the summary's "condition errors" line (the ones that failed most often first).
MAX_NAMED_CONDITIONS = 10


def failed_condition_lines(failed: Counter, total: int) -> list[str]:
    """The lines naming the conditions behind the summary's ``condition errors`` count: ``failed`` is
    ``(name, "errors" | "non_bool") -> n`` of this run (``stages.conditions.FAILED``; a name is the journey, step,
    field and file:line, or a computed attribute's ``where``), ``total`` the summary's count.  Evaluations in other
    processes (a multi-process runner) are not in ``failed``: a last line says how many are not named."""
    by_name: dict[str, Counter] = {}
    for (name, kind), n in failed.items():
        by_name.setdefault(name, Counter())[kind] += n
    ranked = sorted(by_name.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    lines = [f"  {name}: {sum(c.values()):,} (" + ", ".join(
        f"{c[k]:,} {what}" for k, what in (("errors", "CEL errors"), ("non_bool", "non-bool results")) if c[k])
        + ")" for name, c in ranked[:MAX_NAMED_CONDITIONS]]
    if len(ranked) > MAX_NAMED_CONDITIONS:
        lines.append(f"  ... {len(ranked) - MAX_NAMED_CONDITIONS} more conditions")
    unnamed = total - sum(failed.values())
    if unnamed > 0:
        lines.append(f"  {unnamed:,} evaluated in worker processes (not named here; the job's counters "
                     "'condition_errors: <condition>' and 'condition_non_bool: <condition>' name them)")
    return lines


def _dead_letter_check(summary: Any, input_dir: str, max_rate: float | None) -> int:
    """After a replay that reconciles: 1 when every record read was a dead letter (an export in another format:
    nothing decided; a nightly job went on with empty tables after exit 0, qa11d, and a newcomer's CSV in
    ``web.jsonl`` "succeeded") unless ``max_rate`` is 1, or when ``max_rate`` (``--max_dead_letter_rate``, a
    fraction) is given and the dead letters are a larger share of the records read (one line saying so), else 0."""
    read, dead = summary.records_read, sum(summary.dead_letters.values())
    if read and dead == read:
        reasons = ", ".join(f"{r} {n:,}" for r, n in summary.dead_letters.most_common(3))
        fails = max_rate is None or max_rate < 1
        print(f"journeyflow replay: {'' if fails else 'warning: '}every record read from --input {input_dir} "
              f"({read:,}) is a dead letter ({reasons}): nothing was decided"
              + (": exit 1 (the outputs are written; one JSON object per line, see the dead-letter table's "
                 "detail; --max_dead_letter_rate 1 accepts it)" if fails else ""), file=sys.stderr)
        if fails:
            return 1
    if max_rate is not None and read and dead / read > max_rate:
        print(f"journeyflow replay: {dead:,} of {read:,} records read are dead letters ({100 * dead / read:.2f}%), "
              f"more than --max_dead_letter_rate {max_rate:g}: exit 1 (the outputs are written)", file=sys.stderr)
        return 1
    return 0


def _lacks_consent_input(input_dir: str, segment_mapping: str | None = None, output_dir: str | None = None) -> str:
    """Why the local folder ``input_dir`` gives no consent, or ``""`` when it may: it holds no file of the ``consent``
    stream with anything in it (an empty or blank ``consent.jsonl``, an empty export, is none), nor of ``track``
    when the run's Segment mapping (``segment_mapping``: its file, None for the shipped one, which maps no event to a
    grant) maps an event to a consent grant; or every record of those files is a dead letter of the replay written
    to ``output_dir`` (its ``dead-letter`` topic, by source file: a consent export whose every line was refused
    gave no consent either).  ``""`` for a remote folder (not looked at)."""
    if "://" in input_dir:
        return ""
    from pathlib import Path

    from journeyflow.stages.segment.mapping import compiled_mapping, load_mapping_file
    text, source = load_mapping_file(segment_mapping)
    grants = any(t.stream == "consent" and t.type == "consent_granted" for t in compiled_mapping(text, source).values())
    held = [(s, Path(input_dir) / f"{s}.{ext}") for s in ("consent", "track") if s == "consent" or grants
            for ext in ("jsonl", "avro")]
    held = [(s, p) for s, p in held if _holds_text(p)]
    if not held:  # (track.jsonl counts only when the mapping turns one of its events into a consent grant)
        return "has no consent stream (consent.jsonl / .avro)" + (
            " nor Segment messages (track) mapped to a consent grant" if grants else
            " and the Segment mapping maps no event to a consent grant (--segment_mapping)")
    if output_dir is None or "://" in output_dir:
        return ""
    from journeyflow.cli.progress import count_file_records
    dead = _dead_letters_per_file(Path(output_dir))
    if any(dead.get(p.name, 0) < count_file_records(str(p), s) for s, p in held):
        return ""
    return "has no usable consent record (every record of " + ", ".join(p.name for _s, p in held) + \
        " is a dead letter: see the dead_letter table)"


def _dead_letters_per_file(output_dir) -> dict[str, int]:
    """``{input file name: dead letters}`` of a local replay's ``topics/dead-letter.jsonl`` (a record's source is
    ``<file>:<line>[#k]`` or ``<file>#<record>``; dead letters of later stages name an event and are not counted)."""
    import json
    from collections import Counter

    from journeyflow.model.decisions import DEAD_LETTER_TOPIC
    counts: Counter = Counter()
    try:
        with open(output_dir / "topics" / f"{DEAD_LETTER_TOPIC}.jsonl", encoding="utf-8") as f:
            for line in f:
                src = str(json.loads(line).get("source") or "")
                name = src.split(":", 1)[0].split("#", 1)[0]
                if name.endswith((".jsonl", ".avro")):
                    counts[name] += 1
    except (OSError, ValueError):
        return {}
    return counts


def _holds_text(path) -> bool:
    """True when the file ``path`` exists and holds a byte other than whitespace (read until the first one)."""
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                if chunk.strip():
                    return True
    except OSError:
        return False
    return False


def _report_of_replaced_outputs(output: str):
    """``OUT/report.html`` (a Path) when ``journeyflow report`` wrote it
    (:func:`~journeyflow.analytics.report.is_journeyflow_report`): ``--overwrite`` replaces the outputs it reports
    on, so it goes too; None otherwise (a remote OUT, no report, or a file journeyflow did not write: left alone)."""
    if "://" in output:
        return None
    from pathlib import Path
    from journeyflow.analytics.report import is_journeyflow_report
    p = Path(output) / "report.html"
    return p if is_journeyflow_report(p) else None
