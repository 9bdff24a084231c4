"""Local streaming on Beam's bundle-based DirectRunner: its timer scan and its per-bundle state copies, fixes five and
six next to those of :mod:`journeyflow.tools.direct_runner` (local runs only; Dataflow keeps its own timer index).

5. **Timer index.**  After every bundle the runner looks for timers that fired
   (``_TransformWatermarks.extract_transform_timers``) by asking *every key that ever held state* in each stateful
   step for its expired timers, reading the clock once per key.  The streaming stage keeps one flush timer per
   customer, so this scan grows with the number of customers seen and ran once per bundle: 20 of 60 profiled
   CPU-seconds of a 3,000-record TestStream run (issue 22; 1.4M ``get_timers`` calls for 9,366 scans), still 17 %
   of a run after keys without timers were skipped.  The replacement keeps, per step, an index by firing time: a
   heap of ``(event time, key)`` with lazy deletion, fed by every write of a key's state (the runner commits a
   bundle's state by assigning ``keyed_states[key]``: :class:`TimerIndexedStates` sees each assignment).  A scan
   pops the entries due at the input watermark, asks those keys (and keys holding a processing-time timer, which
   are asked every time as before) for their expired timers and re-indexes them.  A key's entry is never later than
   its earliest event-time timer, so every key the full scan would return is asked; keys are asked in the order the
   full scan visits them (their first insertion), so the timers found, their order (the runner sorts them by
   timestamp, stably) and the "has a processing-time timer" answer are the full scan's.  A step whose states were
   created before the patch is scanned in full, as before.
6. **State copies.**  The first access of a key in a bundle copies its state
   (``DirectStepContext.get_keyed_state`` → ``InMemoryUnmergedState.copy``), and that copy deep-copies the key's
   timers (``Timestamp`` objects, windows): 11 % of the same run.  Timestamps and windows are immutable values, so
   the copy here shares them and copies the containers (timer maps per window, each state cell's list), the rest
   as before: the copy is independent of its source in everything the runner mutates.  The copy's four attributes
   are set directly (``InMemoryUnmergedState.__init__`` made two containers the copy replaced at once), and
   ``DirectStepContext.get_keyed_state`` returns the bundle's copy of a key, once made, with one dictionary look-up
   (it is asked again for every cell read and at the commit; a first access goes through Beam's own code).

If a Beam upgrade renames the internals, :func:`index_direct_runner_timers` logs a warning and does nothing.
"""
from __future__ import annotations

import collections
import copy
import heapq
import inspect
import logging
from typing import Any, Hashable

log = logging.getLogger(__name__)

_PATCHED = False


class TimerIndexedStates(dict):
    """A step's ``{encoded key: keyed state}`` (as the runner builds it) that also indexes the keys' timers by firing
    time (module docstring, point 5).

    Every assignment marks the key for re-indexing (``_dirty``, a deque: appends from the worker thread and pops in
    the scan are atomic); :meth:`due_keys` brings the index up to date and returns the keys to ask.  Positions
    (``_pos``) are the dict's insertion order, which is the order the full scan visits keys in."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        self._pos: dict[Hashable, int] = {}
        self._next_pos = 0
        self._dirty: collections.deque = collections.deque()
        self._heap: list[tuple[int, int, Hashable]] = []  # (firing time in ns, position, key)
        self._indexed: dict[Hashable, int] = {}  # key -> firing time of its live heap entry
        self._other_domains: set = set()  # keys with a timer that is not event-time: asked on every scan
        self._realtime: set = set()  # keys with a processing-time timer
        self.update(*args, **kwargs)

    def __setitem__(self, key: Hashable, value: Any) -> None:
        if key not in self._pos:
            self._pos[key] = self._next_pos
            self._next_pos += 1
        super().__setitem__(key, value)
        self._dirty.append(key)

    def __delitem__(self, key: Hashable) -> None:
        super().__delitem__(key)
        self._pos.pop(key, None)
        self._dirty.append(key)

    def pop(self, key: Hashable, *default: Any) -> Any:
        """``dict.pop``, forgetting the key's position (a key inserted again goes last, as in the dict)."""
        if key in self:
            self._pos.pop(key, None)
            self._dirty.append(key)
        return super().pop(key, *default)

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        """``dict.setdefault`` through ``__setitem__``."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``dict.update`` through ``__setitem__``."""
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def _reindex(self, key: Hashable) -> None:
        """Bring ``key``'s index entries up to date with its stored timers."""
        state = self.get(key)
        timers = getattr(state, "timers", None) if state is not None else None
        earliest = None
        other = realtime = False
        if timers:
            for per_window in timers.values():
                for (_name, domain, _tag), ts in per_window.items():
                    if domain == _WATERMARK:
                        t = _nanos(ts)
                        if earliest is None or t < earliest:
                            earliest = t
                    else:
                        other = True
                        realtime = realtime or domain == _REAL_TIME
        if other or self._other_domains:  # (most keys hold event-time timers only: nothing to add or discard)
            (self._other_domains.add if other else self._other_domains.discard)(key)
        if realtime or self._realtime:
            (self._realtime.add if realtime else self._realtime.discard)(key)
        if earliest is None:
            self._indexed.pop(key, None)  # its heap entries are stale now
        elif self._indexed.get(key) != earliest:
            self._indexed[key] = earliest
            heapq.heappush(self._heap, (earliest, self._pos.get(key, -1), key))

    def due_keys(self, watermark: Any) -> list[Hashable]:
        """The keys that can hold a timer due at ``watermark`` or a processing-time timer, in insertion order; their
        event-time entries are taken off the index (:meth:`reindex` puts them back after they were asked)."""
        dirty = self._dirty
        while dirty:
            self._reindex(dirty.popleft())
        heap, indexed = self._heap, self._indexed
        if not self._other_domains and (not heap or heap[0][0] > _nanos(watermark)):
            return []  # (nothing due: most steps, most scans)
        wm = _nanos(watermark)
        due = set(self._other_domains)
        while heap and heap[0][0] <= wm:
            t, _pos, key = heapq.heappop(heap)
            if indexed.get(key) == t:  # its live entry (others are stale: lazy deletion)
                del indexed[key]
                due.add(key)
        pos = self._pos
        return sorted((k for k in due if k in pos), key=pos.__getitem__)

    def reindex(self, keys: list[Hashable]) -> None:
        """Index ``keys`` again after they were asked (their fired timers stay stored until the firing's bundle
        clears them, so a scan before that finds them again, as the full scan does)."""
        for key in keys:
            self._reindex(key)

    @property
    def has_realtime_timer(self) -> bool:
        """Whether any key holds a processing-time timer (what the full scan reports)."""
        return bool(self._realtime)


_WATERMARK: Any = None
_REAL_TIME: Any = None


def _tags() -> Any:
    """A window's ``{tag: values}`` in a copied in-memory state, as ``InMemoryUnmergedState.__init__`` makes it."""
    return collections.defaultdict(list)


def _nanos(ts: Any) -> int:
    """A timer timestamp or watermark as integer nanoseconds since the epoch (``Timestamp``'s own total order)."""
    return ts._total(9)


def index_direct_runner_timers() -> bool:
    """Install the timer index and the cheaper state copy (module docstring, points 5 and 6; idempotent); False
    (with a warning) when Beam's internals changed."""
    global _PATCHED, _WATERMARK, _REAL_TIME
    if _PATCHED:
        return True
    try:
        from apache_beam.runners.direct import evaluation_context as ec
        from apache_beam.runners.direct import watermark_manager as wm
        from apache_beam.runners.direct.util import TimerFiring
        from apache_beam.transforms import trigger
        from apache_beam.transforms.timeutil import TimeDomain
        from apache_beam.utils.timestamp import MIN_TIMESTAMP
        cls = wm._TransformWatermarks
        original_extract = cls.extract_transform_timers
        original_init_states = ec.EvaluationContext._initialize_keyed_states
        state_cls = trigger.InMemoryUnmergedState
        original_copy = state_cls.copy
        assert sorted(vars(state_cls())) == ["defensive_copy", "global_state", "state", "timers"]
        step_cls = ec.DirectStepContext
        original_keyed = step_cls.get_keyed_state
        assert "self.partial_keyed_state[key] = " in inspect.getsource(original_keyed)
        new_state = object.__new__
        MIN_TIMESTAMP._total(9)  # noqa: B018 - the private total order used by _nanos
        _WATERMARK, _REAL_TIME = TimeDomain.WATERMARK, TimeDomain.REAL_TIME
    except (ImportError, AttributeError, AssertionError, OSError, TypeError):
        log.warning("cannot index the DirectRunner's timers (Beam internals changed): its timer scan visits every key")
        return False

    def _initialize_keyed_states(self: Any, root_transforms: Any, value_to_consumers: Any) -> dict:
        states = original_init_states(self, root_transforms, value_to_consumers)
        return {t: TimerIndexedStates(s) for t, s in states.items()}

    def extract_transform_timers(self: Any) -> tuple[list, bool]:
        states = self._keyed_states
        if not isinstance(states, TimerIndexedStates):
            return original_extract(self)
        with self._lock:
            watermark = self._input_watermark
            keys = states.due_keys(watermark)
            fired_timers = []
            if keys:
                now = self._clock.time()
                for encoded_key in keys:
                    timers, _ = states[encoded_key].get_timers(watermark=watermark, processing_time=now)
                    for window, (name, time_domain, timestamp, dynamic_timer_tag) in timers:
                        fired_timers.append(TimerFiring(encoded_key, window, name, time_domain, timestamp,
                                                        dynamic_timer_tag=dynamic_timer_tag))
                states.reindex(keys)
            if fired_timers:
                self._fired_timers.update(fired_timers)
            return fired_timers, states.has_realtime_timer

    def copy_state(self: Any) -> Any:
        # (the original's type, too; its four attributes set here as its __init__ sets them, without the call)
        cloned = new_state(state_cls)
        cloned.defensive_copy = self.defensive_copy
        cloned.timers = collections.defaultdict(dict, {w: dict(t) for w, t in self.timers.items()})
        cloned.global_state = copy.deepcopy(self.global_state) if self.global_state else {}
        cloned.state = windows = collections.defaultdict(_tags)
        for window, tags in self.state.items():
            into = windows[window]
            for tag, values in tags.items():
                into[tag] = values[:] if type(values) is list else copy.copy(values)
        return cloned

    def get_keyed_state(self: Any, key: Any) -> Any:
        state = self.partial_keyed_state.get(key)  # (this bundle's copy, once made: what the original returns)
        return state if state is not None else original_keyed(self, key)

    extract_transform_timers.original = original_extract  # type: ignore[attr-defined]
    copy_state.original = original_copy  # type: ignore[attr-defined]
    cls.extract_transform_timers = extract_transform_timers
    ec.EvaluationContext._initialize_keyed_states = _initialize_keyed_states
    state_cls.copy = copy_state
    get_keyed_state.original = original_keyed  # type: ignore[attr-defined]
    step_cls.get_keyed_state = get_keyed_state
    _PATCHED = True
    return True


#: The name ``pipelines.stream`` and the benches call (the earlier form of fix 5 skipped keys without timers).
skip_keys_without_timers = index_direct_runner_timers
