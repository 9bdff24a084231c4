"""Caches of Beam's graph-time work for the length of one local replay (issue 22: the fixed cost of a run).

A replay of a tiny input costs ~0.4 CPU-s whatever its size, and a good part of it is Beam working out the same
facts about the same Python objects again and again while it builds, translates and runs the graph: a DoFn's state
and timer specs (:func:`dofn_specs_once`) and the ``inspect.signature`` of its methods and of the functions of
``Map`` / ``FlatMap`` steps (:func:`signatures_once`).  Each context manager replaces one Beam function for the
block with a remembering one and restores Beam's after it; the values are those Beam's function gives.  Neither is
thread-safe against another block in the same process (the replay runs one pipeline at a time).
"""
from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator

@contextmanager
def dofn_specs_once() -> Iterator[None]:
    """For the block, Beam's ``userstate.get_dofn_specs`` (a DoFn's state and timer specs) is worked out once per
    DoFn object and remembered, then forgotten (and Beam's function restored) after the block.

    Beam asks it eight times for every ParDo of a run — twice when the ParDo is made, three times when the graph is
    translated (``to_runner_api``), twice more where the runner's bundle processor builds the operation, once in
    the ``DoFnRunner`` — and every call takes ``inspect.signature`` of each of the DoFn's ~30 methods: 0.28 of a
    0.9 CPU-s replay of a tiny input (issue 22).  The specs are the default values of the DoFn's method parameters
    (``DoFn.StateParam``, ``DoFn.TimerParam``), fixed once the object exists; a call that raises is not
    remembered; each caller gets its own copy of the two sets.  The objects are held until the block ends, so an
    id is never reused within it.  Not thread-safe against another block in the same process (the replay runs one
    pipeline at a time)."""
    from apache_beam.transforms import userstate
    beam_specs = userstate.get_dofn_specs
    seen: dict[int, tuple[Any, tuple[set, set]]] = {}

    def get_dofn_specs(dofn):
        got = seen.get(id(dofn))
        if got is None or got[0] is not dofn:
            got = seen[id(dofn)] = (dofn, beam_specs(dofn))
        state, timers = got[1]
        return set(state), set(timers)

    userstate.get_dofn_specs = get_dofn_specs
    try:
        yield
    finally:
        userstate.get_dofn_specs = beam_specs


#: The Beam modules that call ``get_signature`` by a name of their own (``from ... import get_signature``), each
#: patched for the block of :func:`signatures_once`.
_SIGNATURE_USERS = ("apache_beam.typehints.decorators", "apache_beam.transforms.core",
                    "apache_beam.transforms.ptransform", "apache_beam.transforms.util")


def _signature_key(func: Any) -> tuple[int, bool]:
    """What a signature depends on: a bound method's is its function's without the first parameter, whatever the
    instance (``(id of the function, True)``); any other callable's is its own (``(id of the callable, False)``).
    By identity, not equality: two callables equal as values (``tuple`` subclasses with a ``__call__`` each) may
    have different signatures."""
    if inspect.ismethod(func):
        return id(func.__func__), True
    return id(func), False


@contextmanager
def signatures_once() -> Iterator[None]:
    """For the block, Beam's ``typehints.decorators.get_signature`` (``inspect.signature`` with a fallback) is
    worked out once per function and remembered (a ``Signature`` is immutable: every caller may share it), then
    forgotten and Beam's function restored after the block.

    Building, translating and running a replay's graph asks it ~2,100 times for the methods of ~24 DoFns and the
    functions of its Map steps (``core.get_function_args_defaults``, type-hint inference), ~0.05 CPU-s of a replay
    whatever its input (issue 22).  Callables are told apart by identity (an unhashable one too); a call that raises
    is not remembered.  The callables are held until the block ends."""
    import importlib

    from apache_beam.typehints import decorators
    beam_get_signature: Callable[[Any], inspect.Signature] = decorators.get_signature
    modules = [importlib.import_module(m) for m in _SIGNATURE_USERS]
    seen: dict[tuple[int, bool], tuple[Any, inspect.Signature]] = {}  # key -> (the object keyed, its signature)

    def get_signature(func: Any) -> inspect.Signature:
        key = _signature_key(func)
        held = func.__func__ if key[1] else func
        got = seen.get(key)
        if got is None or got[0] is not held:  # (the object is held: its id is not reused within the block)
            got = seen[key] = (held, beam_get_signature(func))
        return got[1]

    saved = [(m, m.get_signature) for m in modules]
    for m in modules:
        m.get_signature = get_signature
    try:
        yield
    finally:
        for m, f in saved:
            m.get_signature = f
