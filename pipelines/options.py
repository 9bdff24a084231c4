"""journeyflow's pipeline options registered with Beam, and the whole option set as one parser.

``python -m journeyflow.pipelines.options --help`` lists every pipeline option, journeyflow's (declared in
:mod:`journeyflow.config.options`) and Beam's; :func:`unknown_options` is how the command line rejects a misspelled
one instead of letting Beam discard it with a warning."""
from __future__ import annotations

import argparse
import re
import sys
import weakref
from typing import NamedTuple, TypeVar

from apache_beam.options.pipeline_options import PipelineOptions

from journeyflow.config.durations import parse_duration
from journeyflow.config.options import DEFAULT_MAX_EVENT_TIME, add_pipeline_options

_RELATIVE_RE = re.compile(r"now(?:\s*\+(.*))?", re.DOTALL)


class EventTimeBound(NamedTuple):
    """The latest accepted event time: an absolute time (``at``, epoch ms) or ``ahead_ms`` past a clock."""

    at: int | None = None
    ahead_ms: int | None = None

    def absolute(self, now_ms: int) -> int:
        """The bound in epoch ms for a clock reading ``now_ms`` (ignored for an absolute bound)."""
        return self.at if self.at is not None else now_ms + (self.ahead_ms or 0)


def resolve_max_event_time(text: str | None) -> EventTimeBound:
    """Parse ``--max_event_time``: ``now+DURATION`` (``now+1d``, ``now+36h``, ``now``: relative to the wall clock
    -- in replay read once at launch, in streaming the record's Pub/Sub publish time; the duration syntax is
    :mod:`journeyflow.config.durations`'), an absolute time (ISO-8601 with offset or epoch ms), or ``none`` (only
    the parser's absurd-time bound, year 2100).  ``None`` means the default, :data:`DEFAULT_MAX_EVENT_TIME`.
    A relative bound stays relative until :meth:`EventTimeBound.absolute` is given a clock.  Raises ValueError for
    anything else."""
    from journeyflow.stages.parse import DEFAULT_MAX_TS, parse_ts

    t = (DEFAULT_MAX_EVENT_TIME if text is None else str(text)).strip()
    if t.lower() == "none":
        return EventTimeBound(at=DEFAULT_MAX_TS)
    try:
        m = _RELATIVE_RE.fullmatch(t.lower())
        if m:
            return EventTimeBound(ahead_ms=0 if m.group(1) is None else parse_duration(m.group(1), allow_zero=True))
        at = parse_ts(t)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"--max_event_time {text!r}: use now+DURATION (e.g. now+1d), an ISO-8601 time with "
                         f"offset, epoch ms, or none ({e})") from None
    check_plausible_time("--max_event_time", t, at)
    return EventTimeBound(at=at)


def check_plausible_time(flag: str, text: str, ms: int) -> None:
    """Raise :class:`~journeyflow.config.errors.UserError` when the time ``ms`` (epoch ms) that option ``flag``
    was given as ``text`` is before 2000-01-01 (``stages.parse.DEFAULT_MIN_TS``, the earliest event time accepted):
    such a bound would dead-letter every record; an integer there is most likely epoch *seconds*."""
    from journeyflow.config.errors import UserError
    from journeyflow.stages.parse import DEFAULT_MIN_TS
    if ms >= DEFAULT_MIN_TS:
        return
    from datetime import datetime, timezone
    shown = datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat() if ms > -62_135_596_800_000 else "year 0"
    hint = f"; epoch seconds? {text}000 is epoch ms" if text.strip().isdigit() and int(text) >= 10**8 else ""
    raise UserError(f"{flag} {text!r} is {shown}, before any event time journeyflow accepts (2000-01-01): it "
                    f"would dead-letter every record{hint}")


def segment_mapping_config(jf) -> dict:
    """``ParseConfig`` keyword arguments for ``--segment_mapping`` (the file's validated text and name; nothing for
    the shipped default).  Read on the launcher, so a bad file fails the launch: raises UserError
    (``<file>:<line>: ...``) or OSError."""
    path = getattr(jf, "segment_mapping", None)
    if not path:
        return {}
    from journeyflow.stages.segment.mapping import load_mapping_file

    text, source = load_mapping_file(path)
    return {"segment_mapping": text, "segment_mapping_source": source}


class JourneyflowOptions(PipelineOptions):
    """journeyflow's options for both pipelines (group "journeyflow"): :data:`journeyflow.config.options.OPTIONS`.
    ``deploy/dataflow/metadata.json`` declares the same names (checked by a test)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        add_pipeline_options(parser)


_View = TypeVar("_View", bound=PipelineOptions)
#: Each :class:`ViewCachingOptions` object's views, by options class (weak: they go with the options object).
_VIEWS: "weakref.WeakKeyDictionary[PipelineOptions, dict[type, PipelineOptions]]" = weakref.WeakKeyDictionary()


class ViewCachingOptions(PipelineOptions):
    """``PipelineOptions`` whose :meth:`view_as` returns the same view object for the same class (issue 22).

    Beam's ``view_as`` builds a new argument parser for the class and parses the flags again on every call, and Beam
    calls it on the pipeline's options for every transform applied (``Pipeline.apply``) and every type-hint
    consistency check (``typehints.is_consistent_with`` reads ``TypeOptions.disable_beartype`` through it): ~580
    re-parses while the replay's graph is built and translated, 0.8 CPU-s of a 2.3 s replay of a tiny input.  A
    view holds no values of its own (every view reads and writes the options' one ``_all_options`` dict and is made
    from the same flags), so the cached view reads and sets exactly what a new one would.  Declares no options
    (Beam's ``get_all_options`` registers every subclass: one declaring JourneyflowOptions' flags again would
    clash); ``Pipeline`` deep-copies its options, keeping the class."""

    def view_as(self, cls: type[_View]) -> _View:
        """The view of these options as ``cls`` (made once, by ``PipelineOptions.view_as``)."""
        views = _VIEWS.get(self)
        if views is None:
            _VIEWS[self] = views = {}
        view = views.get(cls)
        if view is None:
            views[cls] = view = super().view_as(cls)
        return view


def options_parser(include_journeyflow: bool = True, prog: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with every registered ``PipelineOptions`` class's options (Beam's own and, unless
    ``include_journeyflow`` is false, journeyflow's), built the way ``PipelineOptions.get_all_options`` builds it."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser
    parser = _BeamArgumentParser(allow_abbrev=False, prog=prog,
                                 description="Apache Beam pipeline options" + (" and journeyflow's"
                                                                               if include_journeyflow else ""))
    seen: dict[str, type] = {}
    for cls in PipelineOptions.__subclasses__():
        seen.setdefault(str(cls), cls)
    for cls in seen.values():
        if include_journeyflow or cls is not JourneyflowOptions:
            cls._add_argparse_args(parser)  # pylint: disable=protected-access
    return parser


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every ``--flag`` ``parser`` accepts."""
    return sorted(s for s in parser._option_string_actions if s.startswith("--"))  # noqa: SLF001


def unknown_options(argv: list[str]) -> list[str]:
    """The arguments of ``argv`` that no pipeline option accepts (a misspelled ``--runer``, a stray value), in
    order; values of unknown flags (``--runer DataflowRunner``) are not repeated."""
    _, unknown = options_parser().parse_known_args(list(argv))
    out: list[str] = []
    skip = False
    for a in unknown:
        if skip and not a.startswith("-"):
            skip = False
            continue
        out.append(a)
        skip = a.startswith("-") and "=" not in a
    return out


if __name__ == "__main__":
    options_parser(prog="python -m journeyflow.pipelines.options").parse_args(sys.argv[1:])
