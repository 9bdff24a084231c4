"""What every command's parser shares: the help formatter (every option shows its default), deprecated spellings of
renamed flags, and "did you mean" suggestions for unknown ones.

Flag style (README, "Command line"): Beam's, ``--lower_case_with_underscores`` (``--topic_prefix``,
``--max_rows``), and ``--project`` for a GCP project everywhere.  The spellings used before (``--project_id``,
``--prefix``, ``--max-rows`` …) still work for one release and print a deprecation warning on stderr."""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from typing import Any, Iterable, Mapping

#: Said after a deprecated flag's warning.
DEPRECATION_NOTE = "the old spelling will be removed in the next release"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; every option's help ends with its default (``(default: X)``) unless it
    already says what the default is, and required options say ``(required)``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.help is argparse.SUPPRESS or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if action.required:
            return f"{text} (required)"
        if "default" in text.lower() or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._AppendAction)) and not action.default:
            return f"{text} (default: off)" if isinstance(action, argparse._StoreTrueAction) else \
                f"{text} (default: none)"
        if action.default is None or action.default == "":
            return f"{text} (default: none)"
        return f"{text} (default: %(default)s)"


def make_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with :class:`HelpFormatter` and no abbreviated options (``--cust`` is not
    ``--customers``: a prefix that matches today may not match tomorrow)."""
    kwargs.setdefault("formatter_class", HelpFormatter)
    kwargs.setdefault("allow_abbrev", False)
    return argparse.ArgumentParser(**kwargs)


def subparser_kwargs(help_: str, description: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``add_parser`` so that a subcommand's parser formats like :func:`make_parser`."""
    return {"help": help_, "description": description or help_, "formatter_class": HelpFormatter,
            "allow_abbrev": False}


class _DeprecatedAlias(argparse.Action):
    """Stands for an old flag: warns on stderr, then does what the new flag's action does."""

    def __init__(self, option_strings, dest, target: argparse.Action, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.target = target

    def __call__(self, parser, namespace, values, option_string=None):
        new = self.target.option_strings[0]
        print(f"journeyflow: warning: {option_string} is deprecated, use {new} ({DEPRECATION_NOTE})",
              file=sys.stderr)
        self.target(parser, namespace, values, new)


def deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Accept the flag ``old`` as a hidden, deprecated spelling of ``parser``'s existing flag ``new``."""
    target = parser._option_string_actions[new]  # noqa: SLF001
    kwargs: dict[str, Any] = {"nargs": target.nargs, "default": argparse.SUPPRESS, "help": argparse.SUPPRESS}
    if target.nargs != 0:
        kwargs.update(type=target.type, choices=target.choices, const=target.const, metavar=target.metavar)
    parser.add_argument(old, action=_DeprecatedAlias, target=target, **kwargs)


def hyphen_aliases(parser: argparse.ArgumentParser, *flags: str) -> None:
    """:func:`deprecated_alias` for the hyphenated spelling of each ``--snake_case`` flag in ``flags``."""
    for flag in flags:
        deprecated_alias(parser, flag.replace("_", "-"), flag)


def suggestion_pool(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{flag: flag to suggest}`` for every ``--flag`` of ``parser`` and its sub-parsers; a deprecated spelling
    maps to its replacement (``--prefx`` gets "did you mean --topic_prefix?")."""
    out: dict[str, str] = {}
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out.update(suggestion_pool(sub))
        else:
            target = action.target if isinstance(action, _DeprecatedAlias) else action
            for s in action.option_strings:
                if s.startswith("--"):
                    out[s] = target.option_strings[0]
    return out


def visible_options(parser: argparse.ArgumentParser) -> list[str]:
    """Every ``--flag`` of ``parser`` and its sub-parsers that ``--help`` shows (no deprecated spellings)."""
    out: list[str] = []
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += visible_options(sub)
        elif action.help is not argparse.SUPPRESS:
            out += [s for s in action.option_strings if s.startswith("--")]
    return out


def did_you_mean(word: str, candidates: Iterable[str] | Mapping[str, str]) -> str:
    """``" (did you mean --runner?)"`` for the closest candidate to ``word`` (before any ``=value``), or ``""``;
    with a mapping (:func:`suggestion_pool`), the value of the closest key is suggested."""
    flag = word.split("=", 1)[0]
    pool = dict(candidates) if isinstance(candidates, Mapping) else {c: c for c in candidates}
    match = [c for c in pool if c == "--" + flag[2:].replace("-", "_")] if flag.startswith("--") else []
    match = match or difflib.get_close_matches(flag, list(pool), n=1, cutoff=0.7)
    return f" (did you mean {pool[match[0]]}?)" if match else ""



def check_output_file(path: str, flag: str, make_parents: bool = False) -> None:
    """Before any work: raise :class:`~journeyflow.config.errors.UserError` (exit 2, one line) when ``path`` (the
    value of option ``flag``) cannot be written as a file — it is a folder, its folder is missing (unless
    ``make_parents``: the command creates it) or is a file, or nothing can be created there (read-only file system,
    no permission: tried with a temporary file, which ``os.access`` does not see for root or read-only mounts).  A
    command that fails only after minutes of work, on a path it could have checked first, wastes the user's run."""
    import os
    from pathlib import Path

    from journeyflow.config.errors import UserError
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{flag} {path}: Is a directory (give the path of a file to write)")
    if p.exists() and not os.access(p, os.W_OK):
        raise UserError(f"{flag} {path}: the file is not writable")
    _check_can_create(p.parent, flag, path, make_parents)


def check_replaced_file(path: "str | os.PathLike[str]", flag: str, ours: Any, what: str, overwrite: bool) -> None:
    """Before any work: raise :class:`~journeyflow.config.errors.UserError` (exit 2, one line) when ``path`` (the
    value of option ``flag``) is a non-empty file that ``ours(path)`` does not recognise as ``what`` (the command's
    own output, replaced on a rerun) and ``overwrite`` is false: a report written over an input file, a page over a
    journeys file, is data lost without a word."""
    from pathlib import Path

    from journeyflow.config.errors import UserError
    p = Path(path)
    if overwrite or not p.is_file() or p.stat().st_size == 0 or ours(p):
        return
    raise UserError(f"{flag} {path} exists and is not {what}: give another path, or --overwrite to replace it")


def check_output_dir(path: str, flag: str) -> None:
    """Before any work: raise :class:`~journeyflow.config.errors.UserError` (exit 2) when the folder ``path`` (the
    value of option ``flag``; created with its parents when missing) cannot hold new files: it is a file, an
    ancestor is a file, or nothing can be created there (see :func:`check_output_file`)."""
    from pathlib import Path

    from journeyflow.config.errors import UserError
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder")
    _check_can_create(p, flag, path, make_parents=True)


def _check_can_create(folder: "os.PathLike[str]", flag: str, shown: str, make_parents: bool) -> None:
    """UserError unless a file can be created in ``folder`` (or, with ``make_parents``, in its nearest existing
    ancestor, where the missing folders would be made)."""
    import tempfile
    from pathlib import Path

    from journeyflow.config.errors import UserError
    folder = Path(folder)
    while make_parents and not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the nearest existing folder: the missing ones are created there
    if not folder.exists():
        raise UserError(f"{flag} {shown}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise UserError(f"{flag} {shown}: {folder} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".journeyflow-check-"):
            pass
    except OSError as e:
        raise UserError(f"{flag} {shown}: cannot write in {folder} ({e.strerror or e})") from None


def warn_missing_tables(out: str, command: str, consequence: str, sql: str | None = None) -> list[str]:
    """One stderr line naming the analyst tables ``OUT/tables/`` lacks (a copy that lost one, an older release's
    output), of those the query ``sql`` names when given: they read as empty tables, so a figure from them is empty
    or 0 without anything else saying why.  ``consequence`` ends the line.  Returns the names (none for a remote
    OUT or one without ``tables/``, which the readers refuse: exit 2)."""
    import re

    from journeyflow.model.tables import TABLES
    root = os.path.join(out, "tables")
    if "://" in out or not os.path.isdir(root):
        return []
    missing = [t for t in TABLES if not os.path.isdir(os.path.join(root, t))
               and (sql is None or re.search(rf"\b{t}\b", sql, re.IGNORECASE))]
    if missing:
        them = "it" if len(missing) == 1 else "them"
        print(f"journeyflow {command}: warning: {root} has no {', '.join(missing)}: {consequence.format(them=them)}",
              file=sys.stderr)
    return missing


def phone_region(text: str, flag: str = "--default_region") -> str:
    """Before any work: ``text`` when it is a region code ``phonenumbers`` knows (``US``, ``gb``: any case, as
    ``stages.identity.keys.Hasher`` reads it), else :class:`~journeyflow.config.errors.UserError` (exit 2) naming
    ``flag``.  A misspelled region would run the whole pipeline and dead-letter every phone number written without
    +CC (``invalid_identifier``)."""
    import phonenumbers

    from journeyflow.config.errors import UserError
    if text.upper() not in phonenumbers.SUPPORTED_REGIONS:
        hint = did_you_mean(text.upper(), sorted(phonenumbers.SUPPORTED_REGIONS))
        raise UserError(f"{flag} {text!r}: not a phone region code (ISO 3166-1 alpha-2, e.g. US, GB){hint}")
    return text


def time_option(flag: str, text: str, also: str = "") -> int:
    """Epoch ms of a time option's ``text``: an ISO-8601 time with its UTC offset or epoch ms, read by
    ``stages.parse.parse_ts`` as event times are (a bare date or a local time is refused: which zone?), from
    2000-01-01 on (``pipelines.options.check_plausible_time``: an integer there is most likely epoch seconds); else
    :class:`~journeyflow.config.errors.UserError` (exit 2) naming ``flag`` (``also``: another accepted form, for the
    message).  ``replay --until`` and ``validate --min_ts/--max_ts`` read their times with it."""
    from journeyflow.config.errors import UserError
    from journeyflow.stages.parse import parse_ts
    try:
        ms = parse_ts(text)
    except (ValueError, TypeError, OverflowError) as e:
        raise UserError(f"{flag} {text!r}: {e} (give an ISO-8601 time with offset, epoch ms{also})") from None
    from journeyflow.pipelines.options import check_plausible_time
    check_plausible_time(flag, text, ms)
    return ms


def replay_until(text: str | None) -> str | None:
    """Before any work: ``--until`` as given when it is ``end``, an ISO-8601 time with offset or epoch ms
    (:func:`time_option`, as the replay reads it), else :class:`~journeyflow.config.errors.UserError` (exit 2)
    naming the option."""
    if text is None or text == "end":
        return text
    time_option("--until", text, ", or 'end'")
    return text


def positive_number(text: str) -> float:
    """argparse ``type`` of an option that takes a finite number > 0 (``--rate``, ``--time_scale``,
    ``--timeout``): anything else is a usage error at parse time (exit 2), before a connection is tried."""
    import math
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def fraction(upper_open: bool = False):
    """An argparse ``type`` for an option that takes a fraction in [0, 1] (``[0, 1)`` with ``upper_open``):
    anything else is a usage error at parse time (exit 2) naming the option, before any file is touched."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and 0 <= value and (value < 1 if upper_open else value <= 1)):
            raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1{')' if upper_open else ']'}, got {text!r}")
        return value
    parse.__name__ = "fraction"
    return parse


def whole_number(minimum: int):
    """An argparse ``type`` for an option that takes a whole number ≥ ``minimum``: anything else is a usage error at
    parse time (exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


#: ``--limit``, ``--max_messages``: a whole number ≥ 1.
count_at_least_one = whole_number(1)


#: The streams whose records carry opt-outs or deletions (consent revokes, unsubscribes and bounces, Segment opt-out
#: events, crm deletions and opt-out flags): a file of theirs that would not be read stops the command.
COMPLIANCE_STREAMS = frozenset({"consent", "engagement", "crm", "track"})


def check_input_dir(path: str, flag: str = "--input", read: tuple[str, ...] = ("jsonl", "avro")) -> None:
    """Before any work, for a local input folder of stream files (``replay``, ``compare``): raise
    :class:`~journeyflow.config.errors.UserError` (exit 2, one line naming the path) when ``path`` does not exist,
    is a file, or holds a ``<stream>.avro`` that is not Avro (no readable header: empty, a renamed JSON file); for
    each file there that looks like a stream's but is not read, because only ``<stream>.jsonl`` and
    ``<stream>.avro`` are (``orders.json``, ``CRM.jsonl``, ``consent.csv``: a name starting with a stream's), raise
    the same when it is one of :data:`COMPLIANCE_STREAMS` (compliance fails safe: a replay decided messages for
    people whose opt-outs sat unread beside the input, qa17a), else warn on stderr.
    ``read``: the extensions the command reads (``publish``: ``jsonl`` only, so a ``<stream>.avro`` there is
    warned about too).  Remote paths (``gs://``) are left to the pipeline."""
    if "://" in path:
        return
    from journeyflow.config.errors import UserError
    from journeyflow.model.events import STREAMS
    if not os.path.exists(path):
        raise UserError(f"{flag} {path}: no such folder")
    if not os.path.isdir(path):
        raise UserError(f"{flag} {path} is a file: give the folder that holds the <stream>.jsonl / <stream>.avro "
                        "files")
    names = {f"{s}.{ext}" for s in STREAMS for ext in read}
    kinds = " and ".join(f"<stream>.{ext}" for ext in read)
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        stream = name.split(".")[0].lower()
        if name in names:
            if name.endswith(".avro"):
                _check_avro_header(full, flag)
        elif stream in STREAMS and os.path.isfile(full):
            unread = f"{flag}: {full} is not read (only {kinds} {'are' if len(read) > 1 else 'is'}"
            if stream in COMPLIANCE_STREAMS:  # fail safe: no decisions without the opt-outs the folder holds
                raise UserError(f"{unread}): the opt-outs and deletions a {stream} file carries would be missed and "
                                f"messages decided for people who refused them; convert it to {stream}.{read[0]} "
                                "(one JSON object a line) or move it out of the folder")
            print(f"journeyflow: warning: {unread}, streams: {', '.join(STREAMS)})", file=sys.stderr)


def _check_avro_header(path: str, flag: str) -> None:
    import fastavro

    from journeyflow.config.errors import UserError
    try:
        with open(path, "rb") as f:
            fastavro.reader(f)  # reads and checks the header (magic, schema) only
    except OSError as e:
        raise UserError(f"{flag}: {path}: cannot read it ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - whatever fastavro raises on a header that is not Avro
        raise UserError(f"{flag}: {path} is not an Avro file ({e})") from None
