"""The JSON text of a customer state's dict form, as ``CustomerState.to_bytes`` writes it (every snapshot row's
``state_bytes`` is its compressed length, so it is encoded once per row).

:data:`state_chunks` ``(d, 0)`` gives the pieces of ``json.dumps(d, separators=(",", ":"), sort_keys=True)``:
``"".join`` of them is that text, byte for byte.  It is the standard library's C encoder made once, without the
circular-reference bookkeeping ``json.dumps`` does for every list and dict (a state is plain data, never circular:
a circular value would end in ``RecursionError`` instead of ``ValueError``); without the C accelerator, the pure
Python encoder with the same options.  A value JSON cannot write raises ``TypeError`` as ``json.dumps`` does.
"""
from __future__ import annotations

import json
from typing import Any, Callable

__all__ = ["state_chunks"]


def _default(o: Any) -> Any:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _python_chunks(o: Any, _level: int = 0) -> list[str]:
    return [_PURE(o)]


_PURE = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode

try:
    from json.encoder import c_make_encoder as _c_make_encoder
    from json.encoder import encode_basestring_ascii as _encode_str
except ImportError:  # pragma: no cover - a Python without the json accelerator
    _c_make_encoder = None

#: ``state_chunks(d, 0)``: the pieces of the sorted, compact JSON text of ``d`` (module docstring).
state_chunks: Callable[[Any, int], Any] = (
    _python_chunks if _c_make_encoder is None or _encode_str is None else
    _c_make_encoder(None, _default, _encode_str, None, ":", ",", True, False, True))
