"""Local streaming on Beam's bundle-based DirectRunner: user metrics counted in every bundle, fix fourteen next to
those of :mod:`journeyflow.tools.direct_runner` (local runs only; Dataflow, Flink and the FnApiRunner are
unaffected).

14. **Metrics of the second bundle on.**  The runner's ``TransformExecutor.call``
   (``apache_beam/runners/direct/executor.py``, Beam 2.77) makes a new ``MetricsContainer`` for every bundle and
   asks the worker thread's ``StateSampler`` for the step's ``start`` / ``process`` / ``finish`` scoped states with
   it; the sampler caches scoped states by (step, state) name (``statesampler.StateSampler.scoped_state``) and gives
   the *first* bundle's states back, with the first bundle's container.  Every later bundle of that step on that
   thread then counts into a container that was committed already, and commits its own empty one: a streaming run
   reported ``committed = attempted = 1`` for a counter incremented once per element of a 50-bundle TestStream, and
   ``make stream`` printed ``records_parsed 2`` for 1,000 published messages (the decisions and dead letters were
   right; only the counters were lost).  A batch run has one bundle per step and was not affected.

   The fix hands ``TransformExecutor.call`` the container its cached scoped states already carry, reset to zero at
   the start of the bundle (:meth:`MetricsContainer.reset`; a worker thread runs one bundle at a time, and the
   runner reads the bundle's ``get_cumulative()`` before that thread starts another bundle), so each bundle
   commits exactly its own updates.  Where the states carry no container or different ones, a new container is
   made as before.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_PATCHED = False

#: The scoped states ``TransformExecutor.call`` asks the sampler for, with the bundle's container.
_STATES = ("start", "process", "finish")


def _bundle_container(container_type: type, tracker_of: Any):
    """A replacement for ``MetricsContainer`` as ``executor.py`` calls it (``MetricsContainer(step_label)``): the
    container of the step's cached scoped states on this thread, reset, or a new one."""

    def bundle_container(step_name: Any) -> Any:
        fresh = container_type(step_name)
        tracker = tracker_of()
        if tracker is None or not isinstance(step_name, str):
            return fresh
        states = [tracker.scoped_state(step_name, s, metrics_container=fresh) for s in _STATES]
        held = states[0].metrics_container
        if held is None or any(st.metrics_container is not held for st in states):
            return fresh
        if held is not fresh:
            held.reset()  # the thread's previous bundle of this step was committed with its get_cumulative()
        return held

    return bundle_container


def count_metrics_per_bundle() -> bool:
    """Applies fix 14 of the module docstring (idempotent); False, with a warning, when Beam's internals changed."""
    global _PATCHED
    if _PATCHED:
        return True
    try:
        from apache_beam.metrics.execution import MetricsContainer
        from apache_beam.runners.direct import executor
        from apache_beam.runners.worker import statesampler
        if executor.MetricsContainer is not MetricsContainer or not hasattr(MetricsContainer, "reset"):
            raise AttributeError("executor.MetricsContainer")
        executor.MetricsContainer = _bundle_container(MetricsContainer, statesampler.get_current_tracker)
    except (ImportError, AttributeError) as exc:
        log.warning("cannot fix the DirectRunner's per-bundle metrics (Beam internals changed: %s): counters of a "
                    "local streaming run may count only each step's first bundle per thread", exc)
        return False
    _PATCHED = True
    return True
