"""``make bench`` section 4c: the streaming stage's stored state per customer (issue 23.6), measured on the real
``OrderedCustomerFn`` (``transforms.decide_streaming``) driven through in-memory state cells.

:class:`CellDriver` calls the DoFn's ``process`` and ``on_flush`` exactly as a runner does for one key: elements in
arrival order, the watermark moved after each batch, the flush timer fired while its time is at or behind the
watermark (a fired callback may re-arm it).  What it stores is what the runner would keep in the key's state cells,
so ``stored_bytes`` is the key's state size; no runner overhead is measured here.

Figures: bytes stored and ms per 100-event flush (median of the first and of the last tenth of the day) for a hot customer after 20k events in one event-time day (before
issue 23: 194 KB and a flush going from 3.2 to 73.6 ms), and for a one-visit anonymous customer once its expiry
timer has fired (before: 665 B kept forever).
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Iterable

from apache_beam.utils.timestamp import Timestamp

from journeyflow.model.events import Event

DAY = 86_400_000


class Cell:
    """One ReadModifyWrite or Bag state cell, or a timer, of one key (the subset of Beam's runtime API the DoFn
    uses: ``read``/``write``/``add``/``clear``, ``set``)."""

    def __init__(self, bag: bool = False):
        self.bag = bag
        self.value: Any = [] if bag else None

    def read(self) -> Any:
        """The value (a copy of a bag's list)."""
        return list(self.value) if self.bag else self.value

    def write(self, v: Any) -> None:
        """Replace the value."""
        self.value = v

    def add(self, v: Any) -> None:
        """Append to a bag."""
        self.value.append(v)

    def clear(self) -> None:
        """Empty the cell."""
        self.value = [] if self.bag else None

    def set(self, ts: Timestamp) -> None:
        """Set the timer's firing time."""
        self.value = ts

    def nbytes(self) -> int:
        """Bytes held: encoded values of bytes cells, 8 per integer (a VarInt is at most that much)."""
        vals = self.value if self.bag else ([] if self.value is None else [self.value])
        return sum(len(v) if isinstance(v, bytes) else 8 for v in vals)


class CellDriver:
    """Drive one key of an ``OrderedCustomerFn`` (already ``setup``) through in-memory cells."""

    def __init__(self, fn: Any, key: str):
        self.fn, self.key = fn, key
        self.customer, self.buffer, self.pending, self.done = Cell(), Cell(bag=True), Cell(), Cell()
        self.timer = Cell()
        self.handover, self.grace = Cell(), Cell()  # the hand-over hold's cell and processing-time timer
        self.outputs: list[Any] = []
        self.flush_ms: list[float] = []

    def add(self, events: Iterable[Event]) -> None:
        """Process elements in arrival order."""
        for ev in events:
            self.outputs += list(self.fn.process((self.key, ev), self.customer, self.buffer, self.pending,
                                                  self.done, self.timer))

    def advance(self, watermark_ms: int) -> None:
        """Move the watermark to ``watermark_ms``, firing the flush timer while it is due."""
        while self.timer.value is not None and self.timer.value.micros // 1000 <= watermark_ms:
            fired, self.timer.value = self.timer.value, None
            t0 = time.perf_counter()
            self.outputs += list(self.fn.on_flush(self.key, fired, self.customer, self.buffer, self.pending,
                                                  self.done, self.timer, self.handover, self.grace))
            self.flush_ms.append((time.perf_counter() - t0) * 1000)

    def fire_grace(self, processing_ms: int) -> bool:
        """Fire the processing-time grace timer if it is due at ``processing_ms`` (epoch ms); True if it fired."""
        if self.grace.value is None or self.grace.value.micros // 1000 > processing_ms:
            return False
        self.grace.value = None
        self.outputs += list(self.fn.on_grace(self.key, self.customer, self.buffer, self.pending, self.done,
                                              self.timer, self.handover, self.grace))
        return True

    def stored_bytes(self) -> int:
        """Bytes in the key's state cells (customer state, buffer, pending time, horizon, hand-over hold)."""
        return sum(c.nbytes() for c in (self.customer, self.buffer, self.pending, self.done, self.handover))

    def timer_pending(self) -> bool:
        """True when the key has a flush timer set."""
        return self.timer.value is not None


def hot_customer(n: int, t0: int, burst: int = 100, cid: str = "anon:hot-1") -> list[Event]:
    """``n`` web events of one customer over one event-time day from ``t0``, in bursts of ``burst`` events at the
    same millisecond (one flush each): views and cart adds of ever new products, page views."""
    kinds = ("product_view", "add_to_cart", "page_view", "product_view")
    step = DAY // (n // burst + 1)
    return [Event(f"web/h{i}", "web", kinds[i % 4], t0 + (i // burst) * step, (cid,), {"product_id": f"SKU-{i}"},
                  {}) for i in range(n)]


def measure(config: Any, n_hot: int = 20_000, per_flush: int = 100, t0: int = 1_791_158_400_000) -> dict[str, Any]:
    """The section's figures (see the module docstring) for ``config`` (an ``EngineConfig``)."""
    from journeyflow.transforms.decide_streaming import PAST, OrderedCustomerFn

    fn = OrderedCustomerFn(config)
    fn.setup()
    hot = CellDriver(fn, "anon:hot-1")
    events = hot_customer(n_hot, t0, per_flush)
    for i in range(0, len(events), per_flush):
        batch = events[i:i + per_flush]
        hot.add(batch)
        hot.advance(batch[-1].ts + PAST)  # the watermark past the batch: it is flushed
    flushes = hot.flush_ms
    k = max(1, len(flushes) // 10)
    visit = CellDriver(fn, "anon:v1")
    visit.add([Event("web/v1", "web", "product_view", t0, ("anon:v1",), {"product_id": "SKU-1"}, {})])
    visit.advance(t0 + DAY)
    after_visit, pending = visit.stored_bytes(), visit.timer_pending()
    visit.advance(t0 + 400 * DAY)
    return {"hot_events": n_hot, "hot_bytes": hot.stored_bytes(),
            "hot_flush_ms_first_10pct": statistics.median(flushes[:k]),
            "hot_flush_ms_last_10pct": statistics.median(flushes[-k:]),
            "one_visit_bytes_after_visit": after_visit, "one_visit_timer_pending": pending,
            "one_visit_bytes_after_expiry": visit.stored_bytes(), "one_visit_timer_after_expiry": visit.timer_pending()}


def population_keyed(data_dir: Any, limit: int | None = None) -> list[tuple[str, Event]]:
    """The first ``limit`` records of a generated population (event-time order) parsed and resolved online against
    an in-memory identity store, as ``(key, Event)`` in arrival order: what ``DecideOrdered`` receives (merge control
    events included; address-status copies left out)."""
    import uuid

    from journeyflow.adapters.identity_store import open_store
    from journeyflow.config.engine import EngineConfig
    from journeyflow.stages.identity.online import resolve_online
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.stages.parse import Parser, ParseConfig
    from journeyflow.tools.pubsub import load_dir

    rules = EngineConfig.from_files().link_rules()
    parser = Parser(Hasher.from_env(), ParseConfig())
    lines, _ = load_dir(data_dir, limit)
    out: list[tuple[str, Event]] = []
    with open_store(f"memory://cells-{uuid.uuid4().hex[:8]}", rules) as store:
        for i, ln in enumerate(lines):
            ev, _warnings = parser.parse_full(ln.stream, ln.data, f"pubsub:{i}", ln.ts)
            if not isinstance(ev, Event):
                continue
            res = resolve_online(store, ev, rules)
            out += [(target, control) for target, control in res.merges]
            out.append((res.customer_id, res.event))
    return out


def drive_population(fn: Any, keyed: list[tuple[str, Event]], chunk: int = 200) -> dict[str, CellDriver]:
    """Drive ``fn`` (set up) over ``keyed`` as a runner would: ``chunk`` elements at a time, then the watermark to the
    chunk's latest event time; at the end every pending timer fires once (a watermark at +infinity).  Returns the
    drivers by key (their ``flush_ms`` and ``outputs``)."""
    drivers: dict[str, CellDriver] = {}
    wm = None
    for i in range(0, len(keyed), chunk):
        part = keyed[i:i + chunk]
        for key, ev in part:
            d = drivers.get(key)
            if d is None:
                d = drivers[key] = CellDriver(fn, key)
            d.add([ev])
        wm = max([ev.ts for _k, ev in part] + ([wm] if wm is not None else []))
        for d in drivers.values():
            d.advance(wm)
    for d in drivers.values():
        if d.timer.value is not None:
            d.advance(d.timer.value.micros // 1000)
    return drivers
