"""``journeyflow`` command line: one subcommand per noun/verb, thin over functions that do the work.

One module per command in this package (``score-identity`` is :mod:`journeyflow.cli.score_identity`), each with
``HELP`` (one line), ``add_args(parser)`` and ``run(namespace, rest) -> exit code``; heavy imports happen inside
``run`` so that building the parser stays cheap.  Only ``replay`` and ``stream`` accept options they do not declare
(passed to Beam); a :data:`journeyflow.config.errors.USER_ERRORS` exception becomes one line on stderr and exit 2
(``--verbose`` shows the traceback instead)."""
from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType
from typing import Callable

from journeyflow.cli import (
    compare,
    consume,
    generate,
    journeys,
    publish,
    query,
    replay,
    report,
    score_identity,
    stream,
    topics,
    validate,
)

#: The parser's description (``journeyflow --help``).
DESCRIPTION = "``journeyflow`` command line: one subcommand per noun/verb, thin over functions that do the work."

Setup = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, list[str]], int]


def _entry(module: ModuleType) -> tuple[str, Setup, Run]:
    return module.HELP, module.add_args, module.run


#: ``name: (help, add_args, run)``, in the order ``journeyflow --help`` lists them.
COMMANDS: dict[str, tuple[str, Setup, Run]] = {
    "topics": _entry(topics),
    "publish": _entry(publish),
    "consume": _entry(consume),
    "stream": _entry(stream),
    "score-identity": _entry(score_identity),
    "generate": _entry(generate),
    "replay": _entry(replay),
    "journeys": _entry(journeys),
    "validate": _entry(validate),
    "query": _entry(query),
    "report": _entry(report),
    "compare": _entry(compare),
}

#: Commands that pass the options they do not declare on to Beam.
PASS_THROUGH = ("replay", "stream")


def build_parser() -> argparse.ArgumentParser:
    """The ``journeyflow`` parser: ``-v/--verbose`` and one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="journeyflow", description=DESCRIPTION)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (help_, setup, _fn) in COMMANDS.items():
        setup(sub.add_parser(name, help=help_, description=help_))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the command; returns its exit code (2: usage or user
    error, see the module docstring)."""
    parser = build_parser()
    ns, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO if ns.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if rest and ns.cmd not in PASS_THROUGH:
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
