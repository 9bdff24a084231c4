"""``journeyflow`` command line: one subcommand per noun/verb, thin over functions that do the work.

One module per command in this package (``score-identity`` is :mod:`journeyflow.cli.score_identity`), each with
``HELP`` (one line), ``add_args(parser)`` and ``run(namespace, rest) -> exit code``; heavy imports happen inside
``run`` so that building the parser stays cheap.  Shared parser pieces (help formatter, deprecated flag spellings,
"did you mean") are in :mod:`journeyflow.cli.common`, progress display in :mod:`journeyflow.cli.progress`.

Exit codes: 0 success (a replay with dead letters too: they are counted); 1 a check failed (validate,
score-identity, publish, a replay over ``--max_dead_letter_rate`` or whose every record is a dead letter); 2 a
usage or user error (unknown or misspelled option — Beam's included for ``replay`` and ``stream`` —, bad value,
missing file; one line on stderr,
``--verbose`` shows the traceback); 3 a replay that does not reconcile; 130 interrupted (Ctrl-C, one line on
stderr); 141 the reader of stdout went away (``journeyflow query … | head``: nothing more is written, no error)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
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
from journeyflow.cli.common import did_you_mean, make_parser, subparser_kwargs, suggestion_pool

#: The parser's description (``journeyflow --help``).
DESCRIPTION = """\
journeyflow decides, once per customer moment and upstream of every channel, what to do next: send, create a task,
route a case, suppress or wait.  It runs as Apache Beam pipelines: over files (replay) or Pub/Sub (stream).

Try it:  journeyflow generate --out data && journeyflow replay --input data --output out
         journeyflow query out --list_examples"""

#: Shown after the command list (``journeyflow --help``).
EPILOG = """\
Options use Beam's style, --lower_case_with_underscores; `journeyflow COMMAND --help` lists a command's options
with their defaults.  Exit codes: 0 ok (a replay with dead letters too: they are counted), 1 a check failed
(replay: --max_dead_letter_rate exceeded, or every record a dead letter), 2 usage or input error, 3 replay
accounting mismatch, 130 interrupted, 141 output pipe closed."""

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Exit code when stdout's reader went away (128 + SIGPIPE), what ``cat`` or ``seq`` would report.
EXIT_BROKEN_PIPE = 141

#: A path the user gave that cannot be written or read as asked (``report --path DIR``, ``journeys render --out``
#: in a read-only folder): a usage error, one line and exit 2 like a missing file.
FILE_ERRORS: tuple[type[BaseException], ...] = (IsADirectoryError, NotADirectoryError, PermissionError,
                                                 FileExistsError)

Setup = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, list[str]], int]


def _entry(module: ModuleType) -> tuple[str, Setup, Run]:
    return module.HELP, module.add_args, module.run


#: ``name: (help, add_args, run)``, in the order ``journeyflow --help`` lists them.
COMMANDS: dict[str, tuple[str, Setup, Run]] = {
    "generate": _entry(generate),
    "replay": _entry(replay),
    "query": _entry(query),
    "validate": _entry(validate),
    "report": _entry(report),
    "score-identity": _entry(score_identity),
    "compare": _entry(compare),
    "journeys": _entry(journeys),
    "topics": _entry(topics),
    "publish": _entry(publish),
    "stream": _entry(stream),
    "consume": _entry(consume),
}

#: Commands that pass the options they do not declare on to Beam (checked against Beam's options first).
PASS_THROUGH = ("replay", "stream")


def version() -> str:
    """The installed journeyflow version (``journeyflow --version``)."""
    from importlib.metadata import PackageNotFoundError, version as dist_version
    try:
        return dist_version("journeyflow")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``journeyflow`` parser: ``--version``, ``-v/--verbose`` and one subparser per entry of :data:`COMMANDS`."""
    parser = make_parser(prog="journeyflow", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"journeyflow {version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO and show tracebacks of errors")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name, (help_, setup, _fn) in COMMANDS.items():
        setup(sub.add_parser(name, **subparser_kwargs(help_)))
    return parser


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of command ``name`` in ``parser`` (from :func:`build_parser`)."""
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def _check_command(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """A misspelled command, or sub-command (``journeys valdate``, ``topics craete``), gets a suggestion (argparse
    3.11 only lists the choices)."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or any(a in ("-h", "--help", "--version") for a in argv):
        return
    if words[0] not in COMMANDS:
        parser.error(f"unknown command {words[0]!r}{did_you_mean(words[0], list(COMMANDS))}; "
                     f"commands: {', '.join(COMMANDS)}")
    sub = subparser(parser, words[0])
    nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    if nested and len(words) > 1 and words[1] not in nested[0].choices:
        names = list(nested[0].choices)
        sub.error(f"unknown command {words[1]!r}{did_you_mean(words[1], names)}; commands: {', '.join(names)}")
    # a required option missing beside an unknown flag (``replay --inpt DIR``): argparse names only the missing
    # one ("the following arguments are required: --input"); the misspelling is named first, with its fix
    flags = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    missing = [a for a in sub._actions if a.required and a.option_strings  # noqa: SLF001
               and not flags & set(a.option_strings)]
    if missing:
        pool = suggestion_pool(sub)
        unknown = [f for f in sorted(flags) if f not in pool]
        if unknown and words[0] in PASS_THROUGH:  # (a Beam pipeline option is known to these)
            from journeyflow.pipelines.options import option_strings, options_parser
            beam_flags = set(option_strings(options_parser()))
            unknown = [f for f in unknown if f not in beam_flags]
        if unknown:
            sub.error(f"unrecognized arguments: {' '.join(f + did_you_mean(f, pool) for f in unknown)}; "
                      f"the following arguments are required: {', '.join(a.option_strings[0] for a in missing)}")


def _late_positionals(parser: argparse.ArgumentParser, ns: argparse.Namespace, rest: list[str]) -> list[str]:
    """``rest`` without the words that belong to an optional positional left empty: argparse fills positionals
    chunk by chunk, so in ``query OUT --format csv "SQL"`` the SQL (``nargs="?"``, already matched as absent when
    OUT was read) was an "unrecognized argument".  Such words are assigned in order; the rest is returned."""
    sub = subparser(parser, ns.cmd)
    nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    if nested and getattr(ns, nested[0].dest, None) in nested[0].choices:
        sub = nested[0].choices[getattr(ns, nested[0].dest)]
    empty = [a for a in sub._actions if not a.option_strings and a.nargs == "?"  # noqa: SLF001
             and getattr(ns, a.dest, None) is None]
    out = []
    for word in rest:
        if empty and not word.startswith("-") and not (out and out[-1].startswith("-") and "=" not in out[-1]):
            setattr(ns, empty.pop(0).dest, word)
        else:
            out.append(word)
    return out


def _check_rest(parser: argparse.ArgumentParser, cmd: str, rest: list[str]) -> None:
    """Exit 2 for arguments the command does not know: all of them, or for ``replay``/``stream`` those that are not
    Beam pipeline options either (each unknown flag gets a "did you mean" when one is close), and for a Beam option
    whose value Beam refuses (``--direct_num_workers two``: this command's usage and one error line; Beam's parser
    printed its own usage of every Beam option, ~100 lines, under the program name ``journeyflow``)."""
    if not rest:
        return
    sub = subparser(parser, cmd)
    candidates = suggestion_pool(sub)
    unknown = rest
    if cmd in PASS_THROUGH:
        from journeyflow.pipelines.options import option_strings, options_parser, unknown_options
        beam = options_parser()
        beam.exit_on_error = False  # a Beam option's bad value: this command's one error line, not Beam's usage
        try:
            beam.parse_known_args(list(rest))
        except argparse.ArgumentError as e:
            sub.error(f"{e} (a Beam pipeline option: --help_beam lists them)")
        unknown = unknown_options(rest)
        candidates = {**{f: f for f in option_strings(options_parser())}, **candidates}
    if unknown:
        words = [f"{u}{(did_you_mean(u, candidates) or _positional_hint(sub, u)) if u.startswith('-') else ''}"
                 for u in unknown]
        hint = " (Beam's options: --help_beam)" if cmd in PASS_THROUGH else ""
        sub.error(f"unrecognized arguments: {' '.join(words)}{hint}")


def _positional_hint(sub: argparse.ArgumentParser, flag: str) -> str:
    """`` (OUT is given without a flag: …)`` when ``flag`` names a positional of the command (``report --out OUT``,
    ``query --output OUT``: replay's outputs are ``--output``, the commands that read one take it as OUT)."""
    name = flag.lstrip("-").split("=", 1)[0].lower()
    positionals = [a for a in sub._actions if not a.option_strings  # noqa: SLF001
                   and not isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    usage = " ".join((a.metavar or a.dest).upper() for a in positionals)
    for a in positionals:
        if name and (name == a.dest or name.startswith(a.dest) or a.dest.startswith(name)):
            return f" ({(a.metavar or a.dest).upper()} is given without a flag: {sub.prog} {usage} …)"
    return ""


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _interrupted(e: BaseException | None) -> bool:
    """True when ``e`` is, or was raised while handling, a KeyboardInterrupt: Beam re-raises an exception of a
    step with the step's name added, and a KeyboardInterrupt (no message) becomes ``RuntimeError("KeyboardInterrupt
    [while running '<step>']")`` (``apache_beam.runners.common.DoFnRunner._reraise_augmented``), chained to it."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _not_an_interrupt(record: logging.LogRecord) -> bool:
    """Log filter: drop the traceback Beam logs for a Ctrl-C inside a step (``main`` says "interrupted" once)."""
    return not (record.exc_info and _interrupted(record.exc_info[1])) and not _interrupted(
        record.msg if isinstance(record.msg, BaseException) else None)


def _remember_interrupts() -> None:
    """Ctrl-C raises ``KeyboardInterrupt`` as Python's default handler does, and is also remembered
    (``pipelines.output.INTERRUPTED``): one that lands in a finalizer or in a library's ``except BaseException`` is
    swallowed there, and the command then still ends as interrupted (130) and a replay publishes nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    from journeyflow.pipelines.output import INTERRUPTED

    def on_sigint(_signum, _frame):
        INTERRUPTED.set()
        raise KeyboardInterrupt

    INTERRUPTED.clear()  # (a previous in-process call's Ctrl-C is not this one's)
    globals()["_INTERRUPTED"] = INTERRUPTED
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # (not when a caller installed its own)
        signal.signal(signal.SIGINT, on_sigint)


_INTERRUPTED = threading.Event()  # (replaced by the replay's flag once the handler is installed)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the command; returns its exit code (see the module
    docstring: 2 usage or user error, 130 interrupted, 141 stdout closed)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    cmd = "journeyflow"
    _remember_interrupts()
    try:
        parser = build_parser()  # inside: building it imports for ~0.7 s, and a Ctrl-C then is one line too
        _check_command(parser, argv)
        ns, rest = parser.parse_known_args(argv)
        cmd = ns.cmd
        logging.basicConfig(level=logging.INFO if ns.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        for handler in logging.getLogger().handlers:  # (Beam logs the traceback of a Ctrl-C inside a step)
            handler.addFilter(_not_an_interrupt)
        rest = _late_positionals(parser, ns, rest)
        _check_rest(parser, ns.cmd, rest)
        try:
            code = COMMANDS[ns.cmd][2](ns, rest)
            if _INTERRUPTED.is_set():  # a Ctrl-C swallowed where it landed (a finalizer, a library's handler)
                raise KeyboardInterrupt
            sys.stdout.flush()
            return code
        except Exception as e:  # a clear one-line error for the user; --verbose shows the traceback
            if _interrupted(e):  # a Ctrl-C inside a pipeline step, re-raised by Beam as another exception
                raise KeyboardInterrupt from None
            from journeyflow.config.errors import USER_ERRORS
            if isinstance(e, USER_ERRORS + FILE_ERRORS) and not ns.verbose:
                text = f"{e.strerror}: {e.filename}" if isinstance(e, OSError) and e.filename and e.strerror else e
                print(f"journeyflow {ns.cmd}: error: {text}", file=sys.stderr)
                return 2
            raise
    except KeyboardInterrupt:
        where = "journeyflow" if cmd == "journeyflow" else f"journeyflow {cmd}"
        print(f"{chr(10) if sys.stderr.isatty() else ''}{where}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
