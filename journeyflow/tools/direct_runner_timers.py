"""Local streaming on Beam's bundle-based DirectRunner: the timer scan, a fifth fix next to those of
:mod:`journeyflow.tools.direct_runner` (local runs only; Dataflow keeps its own timer index).

After every bundle the runner looks for timers that fired (``_TransformWatermarks.extract_transform_timers``) by
asking *every key that ever held state* in each stateful step for its expired timers, reading the clock once per
key.  The streaming stage keeps one flush timer per customer, so this scan grows with the number of customers seen
and ran once per bundle: 20 of 60 profiled CPU-seconds of a 3,000-record TestStream run (issue 22; 1.4M
``get_timers`` calls for 9,366 scans).  The replacement skips keys with no timer set (their ``get_timers`` returns
nothing) and reads the clock once per scan; the timers found, their order and every other effect are the same.
If a Beam upgrade renames the internals, :func:`skip_keys_without_timers` logs a warning and does nothing.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_PATCHED = False


def skip_keys_without_timers() -> bool:
    """Replace the DirectRunner's fired-timer scan (module docstring; idempotent); False (with a warning) when
    Beam's internals changed."""
    global _PATCHED
    if _PATCHED:
        return True
    try:
        from apache_beam.runners.direct import watermark_manager as wm
        from apache_beam.runners.direct.util import TimerFiring
        cls = wm._TransformWatermarks
        original = cls.extract_transform_timers
    except (ImportError, AttributeError):
        log.warning("cannot speed up the DirectRunner's timer scan (Beam internals changed)")
        return False

    def extract_transform_timers(self: Any) -> tuple[list, bool]:
        with self._lock:
            fired_timers = []
            has_realtime_timer = False
            now = None
            for encoded_key, state in self._keyed_states.items():
                if not getattr(state, "timers", True):
                    continue  # no timer set for this key: nothing can fire
                if now is None:
                    now = self._clock.time()
                timers, had_realtime_timer = state.get_timers(watermark=self._input_watermark, processing_time=now)
                if had_realtime_timer:
                    has_realtime_timer = True
                for window, (name, time_domain, timestamp, dynamic_timer_tag) in timers:
                    fired_timers.append(TimerFiring(encoded_key, window, name, time_domain, timestamp,
                                                    dynamic_timer_tag=dynamic_timer_tag))
            self._fired_timers.update(fired_timers)
            return fired_timers, has_realtime_timer

    extract_transform_timers.original = original  # type: ignore[attr-defined]
    cls.extract_transform_timers = extract_transform_timers
    _PATCHED = True
    return True
