"""The per-instance caches of ``transforms.decide_streaming.OrderedCustomerFn`` (a mixin; pure shortcuts: the
stage gives the same outputs without them, tests/beam/test_perf9c_state_cache.py): decoded buffered events and
customer states kept between a key's flushes (read back by ``OrderedCustomerFn._read_state``), and the held-link
shortcut of ``process``.  Needs ``setup`` to have made ``_kept`` (key → {stored bytes: Event}), ``_kept_n``,
``_states`` and ``_held``."""
from __future__ import annotations

from journeyflow.model.events import Event
from journeyflow.stages.state import CustomerState

__all__ = ["KEPT_DECODED", "KEPT_STATES", "FlushCaches"]

#: Decoded buffered events kept between a key's flushes (per DoFn instance; ``OrderedCustomerFn._remember``).
KEPT_DECODED = 50_000
#: Customer states kept decoded between a key's flushes, with the bytes they were stored as (per DoFn instance;
#: ``OrderedCustomerFn._read_state``).
KEPT_STATES = 20_000


class FlushCaches:
    """The caches (module docstring)."""

    _kept: dict[str, dict[bytes, Event]]
    _kept_n: int
    _states: dict[str, tuple[bytes, CustomerState]]
    _held: dict[str, tuple[int, int]]

    def _keep_state(self, key: str, stored: bytes, state: CustomerState) -> None:
        """Keep ``state`` (just stored as ``stored``) for ``key``'s next flush (at most ``KEPT_STATES`` keys per
        DoFn instance: when full, the cache starts again empty)."""
        if len(self._states) >= KEPT_STATES:
            self._states.clear()
        self._states[key] = (stored, state)

    def _state_of(self, key: str, raw: bytes | None) -> CustomerState | None:
        """The state kept for ``key`` (:meth:`_keep_state`) when it was stored as ``raw`` (what decoding ``raw``
        gives), else None; left in the cache."""
        hit = self._states.get(key)
        return hit[1] if raw and hit is not None and hit[0] == raw else None

    def _hold(self, key: str, link_ms: int, armed_at: int) -> None:
        """Note that ``key``'s last flush held at a ``merge_from`` dated ``link_ms`` (``flush_plan``: nothing at or
        after it is processed before its absorb or the end of its wait) and armed the flush for ``armed_at``.

        While that holds, ``process`` buffers an event dated after the horizon (``link_ms - 1``: an earlier one is
        late) without arming an earlier flush: such a flush would process nothing (the horizon and the customer's
        timers due by then are processed), only fire and emit nothing (issue 22: 359 of 6,049 firings of the
        3,000-record TestStream bench; with ``snapshots``, each wrote the same row at the same horizon again).  An
        absorb still arms it (it ends the hold).  A pure shortcut, checked against the stored cells: it applies only while ``done`` is
        ``link_ms - 1`` and ``pending`` is ``armed_at``, as that flush left them (another instance's flush since
        changed them; if both happen to match a key no longer held, its event waits at most until ``armed_at``, in
        order, never late).  At most ``KEPT_STATES`` keys per DoFn instance (when full, it starts again empty)."""
        if len(self._held) >= KEPT_STATES:
            self._held.clear()
        self._held[key] = (link_ms, armed_at)

    def _remember_one(self, key: str, stored: bytes, ev: Event) -> None:
        """Keep ``ev``, just buffered as ``stored``, for ``key``'s next flush (the cache of :meth:`_remember`; an
        element is never changed after it is output, Beam's rule, so it is what decoding ``stored`` gives)."""
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = {}
        kept[stored] = ev
        self._kept_n += 1
        if self._kept_n > KEPT_DECODED:
            self._kept.clear()
            self._kept_n = 0

    def _remember(self, key: str, events: dict[bytes, Event]) -> None:
        """Keep ``key``'s still-buffered events decoded for its next flush (a pure cache: an entry equals the decode
        of its bytes; once a DoFn instance holds more than ``KEPT_DECODED`` events, the whole cache is dropped and
        later flushes decode their buffers again)."""
        self._kept[key] = events
        self._kept_n += len(events)
        if self._kept_n > KEPT_DECODED:
            self._kept.clear()
            self._kept_n = 0
