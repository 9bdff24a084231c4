"""``journeyflow`` command line: one subcommand per noun/verb, thin over functions that do the work."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

Setup = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, list[str]], int]
COMMANDS: dict[str, tuple[str, Setup, Run]] = {}


# ------------------------------------------------------------------ generate
def _gen_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True)
    p.add_argument("--start", default="2026-10-01T00:00:00+00:00")
    p.add_argument("--malformed-rate", type=float, default=0.02)


def _gen(ns: argparse.Namespace, rest: list[str]) -> int:
    from journeyflow.tools.generator import generate
    s = generate(ns.customers, ns.days, ns.seed, ns.out, start=ns.start, malformed_rate=ns.malformed_rate,
                 progress=sys.stderr.isatty() or ns.customers >= 5000)
    total = sum(s.records.values()) if hasattr(s, "records") else None
    print(f"generated {total} records for {ns.customers} customers over {ns.days} days into {ns.out}")
    for stream, n in sorted(getattr(s, "records", {}).items()):
        print(f"  {stream:<12}{n:>9}  (malformed {getattr(s, 'malformed', {}).get(stream, 0)})")
    return 0


# -------------------------------------------------------------------- replay
def _replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="directory with <stream>.jsonl / .avro")
    p.add_argument("--output", required=True, help="output directory (topics/, tables/)")
    p.add_argument("--journeys", help="journey definitions YAML (default: shipped set)")
    p.add_argument("--policy", help="arbitration policy YAML (default: shipped policy)")
    p.epilog = "Any other option is passed to Beam (e.g. --runner, --direct_num_workers, --until)."


def _replay(ns: argparse.Namespace, rest: list[str]) -> int:
    from journeyflow.pipelines.replay import run_replay
    argv = ["--input", ns.input, "--output", ns.output]
    if ns.journeys:
        argv += ["--journeys", ns.journeys]
    if ns.policy:
        argv += ["--policy", ns.policy]
    summary = run_replay(argv + rest)
    print(summary.render())
    return 0 if summary.reconciles else 3


def _journeys_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="journeys_cmd", required=True)
    r = sub.add_parser("render", help="render journeys as a diagram (self-contained HTML with SVG)")
    r.add_argument("file", nargs="?", help="journeys YAML (default: shipped set)")
    r.add_argument("--out", required=True)
    v = sub.add_parser("validate", help="validate a journeys file")
    v.add_argument("file")


def _journeys(ns: argparse.Namespace, rest: list[str]) -> int:
    from journeyflow.config.engine import EngineConfig
    cfg = EngineConfig.from_files(journeys=getattr(ns, "file", None))
    journeys = cfg.journeys()
    if ns.journeys_cmd == "render":
        from journeyflow.analytics.render import render_html
        with open(ns.out, "w") as f:
            f.write(render_html(journeys))
        print(f"wrote {len(journeys)} journeys to {ns.out}")
    else:
        print(f"{ns.file}: {len(journeys)} journeys OK")
    return 0


def _score_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="generator output (with ground_truth.jsonl)")
    p.add_argument("--output", required=True, help="replay output (tables/identity_links)")
    p.add_argument("--min-precision", type=float, default=None, help="exit 1 below this deterministic precision")
    p.add_argument("--min-recall", type=float, default=None, help="exit 1 below this deterministic recall")


def _score(ns: argparse.Namespace, rest: list[str]) -> int:
    from journeyflow.analytics.identity_score import score_output
    sc = score_output(ns.input, ns.output)
    print(sc.render())
    bad = (ns.min_precision is not None and sc.linkable.precision < ns.min_precision) or \
          (ns.min_recall is not None and sc.linkable.recall < ns.min_recall)
    return 1 if bad else 0


def _topics_args(p: argparse.ArgumentParser) -> None:
    from journeyflow.tools import pubsub as pt
    sub = p.add_subparsers(dest="topics_cmd", required=True)
    pt.add_topics_args(sub.add_parser("create", help="create every topic and subscription (idempotent)"))
    pt.add_topics_args(sub.add_parser("delete", help="delete journeyflow's topics and subscriptions"))


def _topics(ns: argparse.Namespace, rest: list[str]) -> int:
    from journeyflow.tools import pubsub as pt
    return pt.cli_topics_create(ns) if ns.topics_cmd == "create" else pt.cli_topics_delete(ns)


def _pubsub(name: str):
    def setup(p: argparse.ArgumentParser) -> None:
        from journeyflow.tools import pubsub as pt
        getattr(pt, f"add_{name}_args")(p)

    def run(ns: argparse.Namespace, rest: list[str]) -> int:
        from journeyflow.tools import pubsub as pt
        return getattr(pt, f"cli_{name}")(ns)
    return setup, run


def _stream_args(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Options are Beam's and journeyflow's pipeline options (see --help of "
                "journeyflow.pipelines.options), e.g. --project_id P --topic_prefix X --identity_store URL "
                "--allowed_lateness 30s --runner DataflowRunner.")


def _stream(ns: argparse.Namespace, rest: list[str]) -> int:
    from journeyflow.pipelines.stream import run_stream
    run_stream(rest)
    return 0


COMMANDS.update({
    "topics": ("create or delete the Pub/Sub topics and subscriptions", _topics_args, _topics),
    "publish": ("publish a generated directory to the input topics at a chosen rate", *_pubsub("publish")),
    "consume": ("example downstream consumer of a decision topic", *_pubsub("consume")),
    "stream": ("run the streaming pipeline on Pub/Sub (BundleBasedDirectRunner locally)", _stream_args, _stream),
    "score-identity": ("pairwise precision/recall of resolved identities against ground truth", _score_args,
                       _score),
    "generate": ("generate a deterministic multi-channel sample population", _gen_args, _gen),
    "replay": ("replay files through the pipeline (bounded)", _replay_args, _replay),
    "journeys": ("journey definitions: render, validate", _journeys_args, _journeys),
})


def _analytics_commands() -> None:
    from journeyflow.analytics.cli import COMMANDS as analytics
    from journeyflow.analytics.compare import COMMANDS as compare
    COMMANDS.update(analytics)
    COMMANDS.update(compare)


_analytics_commands()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journeyflow", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (help_, setup, _fn) in COMMANDS.items():
        setup(sub.add_parser(name, help=help_, description=help_))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO if ns.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if rest and ns.cmd not in ("replay", "stream"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return COMMANDS[ns.cmd][2](ns, rest)
    except Exception as e:  # a clear one-line error for the user; --verbose shows the traceback
        from journeyflow.config.errors import USER_ERRORS
        if isinstance(e, USER_ERRORS) and not ns.verbose:
            print(f"journeyflow {ns.cmd}: error: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
