"""State bounds (issue 23.6) in the shared core: caps applied on write keep a hot customer's state bounded within
one event-time day, and a dormant customer is retired (nothing left for a one-visit anonymous visitor; what never
expires kept for a customer with consent)."""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import Outputs
from journeyflow.stages.state import DAY, CustomerState
from journeyflow.stages.state_bounds import cap, dormant_ms, is_empty

T = parse_ts("2026-10-05T00:00:00+00:00")
CONFIG = EngineConfig.from_files()


def hot_events(n: int, cid: str = "anon:hot-1") -> list[Event]:
    """``n`` web events of one customer within one day: views and cart adds of ever new products, logins."""
    kinds = ("product_view", "add_to_cart", "page_view", "product_view")
    step = DAY // (n + 1)
    return [Event(f"web/h{i}", "web", kinds[i % 4], T + i * step, (cid,), {"product_id": f"SKU-{i}"}, {})
            for i in range(n)]


def flushed(events: list[Event], per_flush: int = 100) -> list[int]:
    """Drive the core as the streaming DoFn does (state bytes read, ``advance`` over a flush, bytes written) and
    return the state's size in bytes after each flush."""
    proc = CONFIG.build_processor()
    raw, sizes = b"", []
    for i in range(0, len(events), per_flush):
        chunk = events[i:i + per_flush]
        state = CustomerState.from_bytes(raw) if raw else CustomerState(customer_id=chunk[0].ids[0])
        proc.advance(state, chunk, chunk[-1].ts, Outputs(), state_bytes=raw or None)
        raw = state.to_bytes()
        sizes.append(len(raw))
    return sizes


def test_a_hot_customer_state_stops_growing_within_one_day():
    sizes = flushed(hot_events(6000))
    # before issue 23 the size grew with every flush of the day (20k events: 194 KB); with caps on write it reaches
    # a plateau once the caps are full and stays there
    third = len(sizes) // 3
    middle, last = sizes[third:2 * third], sizes[2 * third:]
    assert max(sizes) <= 16_384, max(sizes)
    assert max(last) <= 1.1 * max(middle), (max(middle), max(last))  # no growth after the caps filled


def test_caps_on_write_keep_the_same_entries_as_expiry_caps():
    r = CONFIG.effective_retention()
    a, b = CustomerState(customer_id="crm:C1"), CustomerState(customer_id="crm:C1")
    for i in range(1000):
        for s in (a, b):
            s.views.append([T + i, f"P{i % 7}"])
            s.cart[f"P{i}"] = T + i
            s.seen[f"u{i}"] = T + i
            s.purchases[f"P{i}"] = T + i
            cap(s, r)
    b.expire(T + 1000, r)  # within every window: only the caps apply
    assert (a.views, a.purchases) == (b.views, b.purchases)
    # views: at most max_views, each product's newest first (trim_views): 7 products here, each keeps its newest
    assert len(a.views) == min(r.views_per_product * 7, r.max_views) and a.views[-1] == [T + 999, "P5"]
    assert {p for _t, p in a.views} == {f"P{i}" for i in range(7)}
    assert len(a.cart) == r.max_cart and sorted(a.cart) == sorted(
        f"P{i}" for i in range(1000 - r.max_cart, 1000))
    assert r.max_seen <= len(a.seen) <= r.max_seen * 5 // 4 and "u999" in a.seen


def test_a_one_visit_anonymous_customer_leaves_nothing_once_dormant():
    proc = CONFIG.build_processor()
    state = CustomerState(customer_id="anon:v1")
    visit = Event("web/v1", "web", "product_view", T, ("anon:v1",), {"product_id": "SKU-1"}, {})
    proc.advance(state, [visit], T + DAY, Outputs())
    assert len(state.to_bytes()) > 100 and not state.timers
    due = proc.expiry_due(state)
    assert due == T + dormant_ms(proc.retention)
    assert not proc.retire_if_dormant(state, due - 1)  # not yet
    assert proc.retire_if_dormant(state, due) and is_empty(state)


def test_a_dormant_customer_with_consent_keeps_only_what_never_expires():
    proc = CONFIG.build_processor()
    state = CustomerState(customer_id="crm:C9")
    evs = [Event("consent/1", "consent", "consent_granted", T, ("crm:C9",), {"channel": "email"}, {}),
           Event("web/1", "web", "product_view", T + 1, ("crm:C9",), {"product_id": "SKU-1"}, {})]
    proc.advance(state, evs, T + 2, Outputs())
    due = proc.expiry_due(state)
    assert not proc.retire_if_dormant(state, due)  # something is left ...
    left = state.to_dict()
    assert set(left) == {"v", "customer_id", "ids", "consent"}, left  # ... consent (and whose it is), nothing else
    assert proc.expiry_due(state) is None  # nothing left that can expire: no timer needed


def test_a_customer_back_after_dormancy_is_decided_as_after_a_retirement():
    """Bounded replay retires lazily, before the next event, as of the same time as the streaming timer: the state
    a returning customer is decided from is the same either way."""
    proc = CONFIG.build_processor()
    first = [Event("web/a1", "web", "product_view", T, ("anon:v2",), {"product_id": "SKU-1"}, {})]
    back = [Event("web/a2", "web", "product_view", T + 400 * DAY, ("anon:v2",), {"product_id": "SKU-1"}, {})]
    lazy = CustomerState(customer_id="anon:v2")
    proc.advance(lazy, first + back, None, Outputs())
    timed = CustomerState(customer_id="anon:v2")
    proc.advance(timed, first, None, Outputs())
    assert proc.retire_if_dormant(timed, proc.expiry_due(timed))
    proc.advance(timed, back, None, Outputs())
    assert lazy.to_dict() == timed.to_dict()
    assert lazy.first_seen == T + 400 * DAY  # the first visit was forgotten


def test_cap_reads_the_remembered_limits_once_when_another_thread_replaces_them(monkeypatch):
    """``cap`` remembers the last Retention's limits in a module global; Beam runs DoFns in several threads, so
    another configuration's ``cap`` may replace it between two reads: the limits used must be those of ``r``."""
    from journeyflow.stages import state_bounds
    from journeyflow.stages.state import Retention

    small, large = Retention(max_views=2), Retention(max_views=1000)
    state_bounds._limits(large)
    other = state_bounds._LIMITS

    class Swapping(tuple):
        """The remembered (retention, limits) of ``small``, replaced by ``large``'s once it has been read."""

        def __getitem__(self, i):
            state_bounds._LIMITS = other  # (what another thread's ``cap(…, large)`` would leave)
            return tuple.__getitem__(self, i)

    state_bounds._limits(small)
    monkeypatch.setattr(state_bounds, "_LIMITS", Swapping(state_bounds._LIMITS))
    s = CustomerState(customer_id="c", views=[[i, f"p{i}"] for i in range(5)])
    cap(s, small)
    assert len(s.views) == 2  # small's cap, not large's
