"""A journey engine with some methods replaced, for tests that spy on or poison them.

The compiled core builds ``JourneyEngine`` as an extension type (``stages/journeys/engine.pxd``): its methods cannot
be replaced on the class (``monkeypatch.setattr(JourneyEngine, ...)``).  Put a :class:`SpiedEngine` in a
processor's ``engine`` instead: the processor calls the replacement, everything else is the wrapped engine's."""
from __future__ import annotations

from typing import Any, Callable


class SpiedEngine:
    """``engine`` with ``methods`` (name -> function taking the real engine as its first argument, as the class's
    own method does) replaced; every other attribute read is the engine's."""

    def __init__(self, engine: Any, **methods: Callable) -> None:
        self._engine = engine
        for name, f in methods.items():
            setattr(self, name, lambda *args, _f=f, **kw: _f(engine, *args, **kw))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)
