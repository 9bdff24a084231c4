"""Local streaming on Beam's bundle-based DirectRunner: fix thirteen, the state cells a stateful DoFn's calls are
given (local runs only; next to :mod:`journeyflow.tools.direct_runner_bundles`, which installs it with point 9).

13. **State cells.**  Every call of a stateful DoFn's ``process`` or timer callback is given a runtime cell per
   state parameter (the per-customer stage: five per element and per firing, ~16 a record with the address
   router's), and each read of a cell goes ``read`` → ``_decode`` → the spec coder's ``decode`` → its ``get_impl()``'s
   ``decode``, the value itself through a lambda → ``_get_underlying_state``, which encodes the key again →
   ``get_keyed_state`` → the in-memory state's ``get_state`` and its ``isinstance`` chain: ~six Python calls a read,
   three a write.  Here a ReadModifyWrite or Bag cell is made in one call (no ``__init__`` chain), takes its coder's
   implementation calls once (``FastCoder``'s ``encode``/``decode`` are exactly ``get_impl().encode``/``decode``; a
   coder of its own kind is called as before) and reads through the key encoded once per call of the DoFn
   (``_underlying``: in Beam's in-memory state, the list stored under the tag, what its ``get_state`` returns for
   these tags).  The cells are subclasses of Beam's with the same attributes, so the commit (``direct_runner_bundles``
   point 12, or Beam's own) stores what it stored; a spec of another kind is given Beam's cell as before.  A cell is
   made with the attributes its ``__init__`` sets, without the call (checked when the patch is installed: otherwise
   through the call), from a per-bundle ``{spec: (cell class, tag, coder calls)}`` look-up.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

from journeyflow.tools.direct_runner_bundles import _encoded_key


def _underlying(get_keyed_state: Any, encoded_key: bytes, window: Any, tag: Any) -> Any:
    """What ``DirectUserStateContext._get_underlying_state`` reads for a ReadModifyWrite or Bag cell (module docstring):
    the key's in-bundle state (``get_keyed_state``) asked for ``tag`` in ``window``; in Beam's in-memory state the
    list stored under the tag, as its ``get_state`` returns it for these two tag kinds."""
    state = get_keyed_state(encoded_key)
    if type(state) in _IN_MEMORY:
        return state.state[window][tag.tag]
    return state.get_state(window, tag)


#: The runner's in-memory keyed-state classes whose ``get_state`` is Beam's own (``_underlying`` reads them directly).
_IN_MEMORY: tuple = ()
#: ``{id(coder): (coder, encode, decode)}``: a state coder's calls (module docstring), the coder kept alive with them.
_CODECS: dict[int, tuple[Any, Any, Any]] = {}


def _codec(coder: Any) -> tuple[Any, Any]:
    """``(encode, decode)`` giving what ``coder.encode``/``coder.decode`` give: its implementation's own methods when
    the coder's class encodes through ``FastCoder``'s (``get_impl().encode``: one call instead of three), else the
    coder's."""
    hit = _CODECS.get(id(coder))
    if hit is not None and hit[0] is coder:
        return hit[1], hit[2]
    from apache_beam.coders.coders import FastCoder
    cls = type(coder)
    if cls.encode is FastCoder.encode and cls.decode is FastCoder.decode:
        impl = coder.get_impl()
        calls = (impl.encode, impl.decode)
    else:
        calls = (coder.encode, coder.decode)
    _CODECS[id(coder)] = (coder, *calls)
    return calls


def _cell_classes(du: Any) -> tuple[type, type]:
    """Beam's ReadModifyWrite and Bag runtime cells of the direct runner with the module docstring's reads and writes: the same
    attributes and the same answers, the coder's calls taken once per cell (``_codec``)."""
    unread, chain = du.UNREAD_VALUE, itertools.chain

    class ReadModifyWriteCell(du.ReadModifyWriteRuntimeState):
        """``ReadModifyWriteRuntimeState`` reading and writing through the coder's direct calls."""

        def __init__(self, spec: Any, tag: Any, accessor: Any, codec: tuple[Any, Any]):
            self._state_spec, self._state_tag, self._current_value_accessor = spec, tag, accessor
            self._value, self._cleared, self._modified = unread, False, False
            self._enc, self._dec = codec

        def read(self) -> Any:
            """Beam's ``read``: None when cleared or never written, else the decoded value."""
            if self._cleared:
                return None
            value = self._value
            if value is unread:
                value = self._value = self._current_value_accessor()
            if not value:
                return None
            return self._dec(value[0])

        def write(self, value: Any) -> None:
            """Beam's ``write``."""
            self._cleared = False
            self._modified = True
            self._value = [self._enc(value)]

    class BagCell(du.BagRuntimeState):
        """``BagRuntimeState`` reading and adding through the coder's direct calls."""

        def __init__(self, spec: Any, tag: Any, accessor: Any, codec: tuple[Any, Any]):
            self._state_spec, self._state_tag, self._current_value_accessor = spec, tag, accessor
            self._cached_value, self._cleared, self._new_values = unread, False, []
            self._enc, self._dec = codec

        def read(self) -> Any:
            """Beam's ``read``: the stored values then the added ones (only these after a clear), decoded lazily."""
            if self._cached_value is unread:
                self._cached_value = self._current_value_accessor()
            return map(self._dec, self._new_values if self._cleared else chain(self._cached_value, self._new_values))

        def add(self, value: Any) -> None:
            """Beam's ``add``."""
            self._new_values.append(self._enc(value))

    return ReadModifyWriteCell, BagCell


def faster_state_lookup(du: Any, userstate: Any) -> tuple[type, type]:
    """Point 9 of ``direct_runner_bundles`` and point 13 (module docstring) on ``du``
    (``apache_beam.runners.direct.direct_userstate``); returns the two cell classes (the commit knows them)."""
    global _IN_MEMORY
    from apache_beam.runners.direct.evaluation_context import DirectUnmergedState
    from apache_beam.transforms import trigger
    _IN_MEMORY = tuple(c for c in (trigger.InMemoryUnmergedState, DirectUnmergedState)
                       if c.get_state is trigger.InMemoryUnmergedState.get_state)
    ctx = du.DirectUserStateContext
    original = ctx.get_state
    rmw_cell, bag_cell = _cell_classes(du)
    runtime_for = {userstate.ReadModifyWriteStateSpec: rmw_cell, userstate.BagStateSpec: bag_cell}
    partial, new, unread = functools.partial, object.__new__, du.UNREAD_VALUE
    # (a cell is made as its class's __init__ makes it, without the call, when it sets just these attributes)
    direct = ({c: sorted(vars(c(None, None, None, (None, None)))) for c in (rmw_cell, bag_cell)} == {
        rmw_cell: sorted(("_state_spec", "_state_tag", "_current_value_accessor", "_value", "_cleared", "_modified",
                          "_enc", "_dec")),
        bag_cell: sorted(("_state_spec", "_state_tag", "_current_value_accessor", "_cached_value", "_cleared",
                          "_new_values", "_enc", "_dec"))})

    def get_state(self: Any, state_spec: Any, key: Any, window: Any) -> Any:
        own = self.__dict__
        last = own.get("_jf_last_key")  # (``_encoded_key``, inlined: once per parameter of every call)
        encoded_key = last[1] if last is not None and last[0] is key else _encoded_key(self, key)
        cache_key = (encoded_key, window, state_spec)
        cells = self.cached_states
        cell = cells.get(cache_key)
        if cell is None:
            specs = own.get("_jf_specs")  # {spec: (cell class, tag, encode, decode)}, per context (bundle)
            if specs is None:
                specs = self._jf_specs = {}
            how = specs.get(state_spec)
            if how is None:
                runtime = runtime_for.get(type(state_spec))
                if runtime is None or state_spec not in self.all_state_specs:
                    return original(self, state_spec, key, window)
                how = specs[state_spec] = (runtime, self.state_tags[state_spec], *_codec(state_spec.coder))
            cls, tag, cell_enc, cell_dec = how
            accessor = partial(_underlying, self.step_context.get_keyed_state, encoded_key, window, tag)
            if not direct:
                cell = cells[cache_key] = cls(state_spec, tag, accessor, (cell_enc, cell_dec))
                return cell
            cell = new(cls)
            cell._state_spec, cell._state_tag, cell._enc, cell._dec = state_spec, tag, cell_enc, cell_dec
            cell._current_value_accessor = accessor
            if cls is rmw_cell:
                cell._value, cell._cleared, cell._modified = unread, False, False
            else:
                cell._cached_value, cell._cleared, cell._new_values = unread, False, []
            cells[cache_key] = cell
        return cell

    get_state.original = original  # type: ignore[attr-defined]
    ctx.get_state = get_state
    return rmw_cell, bag_cell
