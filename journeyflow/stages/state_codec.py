"""The streaming stage's stored encodings: a customer's state and its buffered events, fast to read and write.

``OrderedCustomerFn`` (``transforms.decide_streaming``) reads and writes the customer's state on every flush and
keeps not-yet-due events in a buffer; the JSON forms (:meth:`CustomerState.to_bytes`, :func:`encode_event`) cost
~47 µs per state round trip and ~16 µs per event decode (issue 22).  This module's forms:

* **state**: ``b"M"`` + one byte, the ``STATE_VERSION`` it was written under, + ``marshal`` (format version
  :data:`MARSHAL_VERSION`) of the state's fields as one tuple in the order of :data:`LAYOUT` (a fixed list of
  names: adding a field to ``CustomerState`` appends it to a new layout, never reorders this one).  Values keep
  their Python types (no JSON round trip: a decoded state equals the one written, as in bounded replay where state
  never leaves memory).  :func:`decode_state` also reads the JSON forms (``b"J"`` + JSON, zlib-compressed JSON)
  written by earlier builds, so a Dataflow ``--update`` keeps reading the state of the job it replaces; a state
  written under an older ``STATE_VERSION`` goes through :meth:`CustomerState.from_dict`'s upgrade.  Going back
  (an older build reading this form) is not supported.
* **buffered events**: ``transforms.decide_streaming`` stores them in Beam's ``FastPrimitivesCoder`` form
  (``transforms.coders.EventCoder``) and still reads the JSON array of earlier builds.

Why ``marshal`` and not JSON: 4–5× faster both ways on this project's states; its format is versioned and every
CPython reads all earlier versions (``marshal.loads``), and the stored state is only ever read by this code (never a
key, never compared), so byte-for-byte determinism is not needed: equal states may differ in bytes when their
values share objects (marshal writes a shared object once), and always decode to equal states.  Stored sizes are
~1.4× the zlib-compressed JSON.  ``marshal`` only builds plain values (no code runs on load).
"""
from __future__ import annotations

import dataclasses
import json
import marshal
import zlib
from typing import Any

from journeyflow.stages.state import STATE_VERSION, CustomerState

#: marshal format version written (4: CPython >= 3.4; read by every later CPython).
MARSHAL_VERSION = 4
#: The state fields in stored order (form ``b"M"``).  Never reorder or remove a name: append new fields.
LAYOUT = ("customer_id", "ids", "addresses", "addr_status", "tz", "lifecycle", "owner_id", "consent", "tickets",
          "resolved", "purchases", "orders", "cancelled", "payment_failed", "cart", "views", "sends", "journeys",
          "timers", "seen", "first_seen", "last_event", "last_login", "last_activity", "expired_at", "traits",
          "computed", "tz_at", "account", "lifecycle_at", "owner_at")
#: Names appended to LAYOUT after the first stored form: a shorter stored tuple lacks them (their defaults apply).
_APPENDED = ("tz_at", "account", "lifecycle_at", "owner_at")
_TAG = b"M"
_HEADER = _TAG + bytes([STATE_VERSION])
# CustomerState(*values) fills its fields positionally: only when they start with LAYOUT in this order
_POSITIONAL = tuple(f.name for f in dataclasses.fields(CustomerState))[:len(LAYOUT)] == LAYOUT


def encode_state(state: CustomerState) -> bytes:
    """The stored form ``b"M"`` of ``state`` (module docstring)."""
    return _HEADER + marshal.dumps(tuple([getattr(state, f) for f in LAYOUT]), MARSHAL_VERSION)


def decode_state(b: bytes) -> CustomerState:
    """Inverse of :func:`encode_state`; also reads the JSON forms of :meth:`CustomerState.to_bytes`.  Raises
    ValueError for an unknown ``STATE_VERSION`` or a value that is not a stored state (zlib.error, or a JSON or
    marshal error, for other bytes)."""
    if b[:1] != _TAG:
        raw = b[1:] if b[:1] == b"J" else zlib.decompress(b)
        return CustomerState.from_dict(json.loads(raw))
    values = marshal.loads(memoryview(b)[2:])
    if isinstance(values, tuple) and len(LAYOUT) - len(_APPENDED) <= len(values) < len(LAYOUT):
        values = values + (None,) * (len(LAYOUT) - len(values))  # stored before the appended fields existed
    if not isinstance(values, tuple) or len(values) != len(LAYOUT):
        raise ValueError(f"not a stored customer state: {len(b)} bytes")
    if b[1] == STATE_VERSION:
        if _POSITIONAL:
            return CustomerState(*values)
        return CustomerState(**dict(zip(LAYOUT, values)))
    d: dict[str, Any] = {k: v for k, v in zip(LAYOUT, values) if v not in (None, [], {}, "")}
    d["v"] = b[1]
    return CustomerState.from_dict(d)  # an older STATE_VERSION: upgraded there (or ValueError)

