"""Poison-input isolation of the per-customer fold (split from :mod:`journeyflow.stages.processor`, whose module
docstring, "Poison inputs", gives the rules): the record of what one call excluded, the restore marks of its
outputs, and the ``processing_error`` dead letters of excluded events and dropped timers.  Plain Python, no Beam."""
from __future__ import annotations

import logging
import os
import traceback
from typing import Any

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.parse import mask_pii

log = logging.getLogger("journeyflow.stages.processor")

#: ``DeadLetter.stream`` of a dropped timer (a timer is not read from any input stream).
TIMER_STREAM = "_timer"
#: Offenders isolated per ``advance`` / ``ClusterFold.run`` call before a failure is raised instead.
MAX_ISOLATED = 16
#: Longest exception message kept in a dead letter's detail.
MAX_DETAIL = 500


class _Poison(Exception):
    """Internal: handling one input raised ``exc``.  ``keys``: what the re-run excludes (an event uid, or timer keys
    ``("timer", due, timer_id)``); ``links``: the failure was in applying the event's identity links."""

    def __init__(self, keys: tuple, exc: Exception, what: str, event_time: int, links: bool = False):
        super().__init__(what)
        self.keys, self.exc, self.what, self.event_time, self.links = keys, exc, what, event_time, links


def _timer_key(timer: list) -> tuple:
    return ("timer", timer[0], timer[1])


def _error_detail(exc: BaseException) -> str:
    """Exception type and message, PII masked (a dead letter's ``detail``)."""
    try:
        msg = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        msg = "<unprintable message>"
    if len(msg) > MAX_DETAIL:
        msg = msg[:MAX_DETAIL] + "..."
    return mask_pii(f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__)


def _where(exc: BaseException) -> str:
    """Innermost code locations of a failure (file:line function; no values, so safe to log)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames))


class _Isolation:
    """Offenders excluded so far in one ``advance`` / ``ClusterFold.run`` call."""

    __slots__ = ("excluded", "skip_links", "steps", "limit", "customer_id")

    def __init__(self, limit: int, customer_id: str):
        self.excluded: dict[Any, str] = {}  # event uid | timer key -> dead-letter detail
        self.skip_links: set[str] = set()  # event uids whose identity links failed to apply (ClusterFold)
        self.steps = 0
        self.limit = limit
        self.customer_id = customer_id

    def add(self, poison: _Poison) -> None:
        """Exclude the offender on the re-run, or raise its exception when it cannot be (already excluded: the
        failure is elsewhere; or the limit is reached)."""
        exc = poison.exc
        if self.steps >= self.limit or any(k in self.excluded for k in poison.keys):
            log.error("journeyflow: %s of customer %s raised %s (at %s) and is not isolated (%d offenders isolated "
                      "already, limit %d)", mask_pii(poison.what), mask_pii(self.customer_id), _error_detail(exc),
                      _where(exc), self.steps, self.limit)
            raise exc
        self.steps += 1
        detail = _error_detail(exc)
        for k in poison.keys:
            self.excluded[k] = detail
        if poison.links:
            self.skip_links.update(poison.keys)
        log.warning("journeyflow: isolated poison %s of customer %s (event time %s): %s (at %s); dead-lettered as %s, "
                    "the customer goes on without it", mask_pii(poison.what), mask_pii(self.customer_id),
                    poison.event_time, detail, _where(exc), DeadLetterReason.PROCESSING_ERROR)


class _Mark:
    """Lengths of the outputs at the start of a call, to cut them back after a failed attempt."""

    __slots__ = ("n",)

    def __init__(self, out: "Outputs"):
        self.n = (len(out.decisions), len(out.steps), len(out.dead), len(out.transfers), out.events, out.timers)

    def reset(self, out: "Outputs") -> None:
        d, s, x, t, out.events, out.timers = self.n
        del out.decisions[d:], out.steps[s:], out.dead[x:], out.transfers[t:]
        out.pending.clear()


class _NoRows(list):
    """A list that keeps nothing: ``out.steps`` during ``CustomerProcessor.advance(..., steps=False)`` (the rows
    appended to it are dropped; ``len`` 0, so the restore marks of :class:`_Mark` work on it unchanged)."""

    __slots__ = ()

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass


def _dead_event(ev: Event, detail: str) -> DeadLetter:
    return DeadLetter(stream=ev.stream, reason=DeadLetterReason.PROCESSING_ERROR, detail=detail, payload="",
                      source=mask_pii(ev.uid), event_time=ev.ts)


def _dead_timer(timer: list, detail: str) -> DeadLetter:
    return DeadLetter(stream=TIMER_STREAM, reason=DeadLetterReason.PROCESSING_ERROR, detail=detail, payload="",
                      source=mask_pii(f"timer {timer[1]}"), event_time=timer[0])
