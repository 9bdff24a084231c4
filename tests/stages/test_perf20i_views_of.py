"""``CustomerState.views_of`` (plain loops since session 20) counts what the expressions it replaced count: views
of the product inside the window, with all views inside it (the usual) or some outside, at its edges and after now."""
from __future__ import annotations

import random
from operator import itemgetter

from journeyflow.stages.state import DAY, CustomerState

NOW = 1_790_000_000_000
WEEK = 7 * DAY


def _reference(s: CustomerState, product_id: str, now: int, window_ms: int) -> int:
    """``views_of`` before session 20."""
    lo, views = now - window_ms, s.views
    if views and views[0][0] > lo and views[-1][0] <= now:
        return list(map(itemgetter(1), views)).count(product_id)
    return sum(1 for ts, p in views if p == product_id and lo < ts <= now)


def test_views_of_counts_as_before():
    rng = random.Random(2026)
    edges = (0, 1, WEEK - 1, WEEK, WEEK + 1, 3 * DAY, 2 * WEEK, -1)
    for _ in range(3000):
        s = CustomerState()
        inside = rng.random() < 0.5
        views = [[NOW - rng.choice(edges[:3] if inside else edges), rng.choice(("p1", "p2", "p3", 7))]
                 for _ in range(rng.randint(0, 12))]
        s.views = sorted(views, key=itemgetter(0))
        for pid in ("p1", "p2", "p9", "7"):
            got = s.views_of(pid, NOW, WEEK)
            assert got == _reference(s, pid, NOW, WEEK) and type(got) is int


def test_views_of_counts_the_same_object_once_per_view():
    nan = float("nan")  # (not equal to itself: counted as the same object, as list.count does)
    s = CustomerState(views=[[NOW - 1, nan], [NOW, "a"]])
    assert s.views_of(nan, NOW, WEEK) == 1 == _reference(s, nan, NOW, WEEK)  # type: ignore[arg-type]
