"""Beam coders for journeyflow's own records, so the shuffles of the replay do not fall back to pickle.

Without a registered coder Beam encodes an :class:`~journeyflow.model.events.Event` (a slots dataclass) with its
``FastPrimitivesCoder``'s pickle fallback: ~4.2 µs per encode+decode on the demo input vs ~1.2 µs for the same
fields as a plain tuple (issue 22).  :class:`EventCoder` encodes the event's seven fields as that tuple with
Beam's own primitive encoding (strings, ints, lists, tuples and dicts keep their types, so a decoded event equals
the original, attribute order included).

The coder is registered for ``Event`` in Beam's coder registry when this module is imported (``transforms.parse``
imports it); a PCollection whose element type names ``Event`` (``KEYED_ITEM``) is then encoded with it.
"""
from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.coders import coder_impl
from apache_beam.coders.coders import FastCoder, FastPrimitivesCoder
from apache_beam.typehints import typehints

from journeyflow.model.events import Event


class _EventCoderImpl(coder_impl.StreamCoderImpl):
    """Event ↔ the FastPrimitives encoding of ``(uid, stream, type, ts, ids, attrs, contact)``."""

    def __init__(self) -> None:
        self._fields = FastPrimitivesCoder().get_impl()

    def encode_to_stream(self, value: Event, stream: Any, nested: bool) -> None:
        """Writes the event's fields as one tuple."""
        self._fields.encode_to_stream((value.uid, value.stream, value.type, value.ts, value.ids, value.attrs,
                                       value.contact), stream, nested)

    def decode_from_stream(self, stream: Any, nested: bool) -> Event:
        """Reads the tuple written by :meth:`encode_to_stream` back into an Event."""
        return Event(*self._fields.decode_from_stream(stream, nested))


class EventCoder(FastCoder):
    """Beam coder of :class:`~journeyflow.model.events.Event` (see the module doc).  Not declared deterministic:
    events are values, never shuffle keys (attribute dicts keep their insertion order, which the decoded event
    must reproduce)."""

    def _create_impl(self):
        return _EventCoderImpl()

    def is_deterministic(self) -> bool:
        """False: an Event is never used as a key."""
        return False

    def to_type_hint(self):
        """The Event type."""
        return Event

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class Batch(list):
    """A list of records passed between the replay's stages as one Beam element (issue 22).  Where no coder is
    declared, Beam's FastPrimitivesCoder encodes a list *subclass* with its pickle fallback: the whole batch in
    one C-level ``pickle.dumps``, instead of one fallback call per record for a plain list of records."""


class EventBatch(list):
    """A list of :class:`~journeyflow.model.events.Event` s: the replay's unit between its stages (issue 22: one
    Beam element per batch instead of per event; see :class:`EventBatchCoder`)."""


class ClusterItems(list):
    """Replay items of one identity cluster: a list of ``(event, accepted links of that event)`` pairs (links: a
    tuple of ``(a, b)`` identifier pairs).  The value of the replay's keyed ``(cluster id, ClusterItems)``."""


class _EventBatchCoderImpl(coder_impl.StreamCoderImpl):
    """EventBatch ↔ the FastPrimitives encoding of a list of event field tuples (one C-level call per batch)."""

    def __init__(self) -> None:
        self._fields = FastPrimitivesCoder().get_impl()

    def encode_to_stream(self, value: list, stream: Any, nested: bool) -> None:
        """Writes the batch as a list of ``(uid, stream, type, ts, ids, attrs, contact)`` tuples."""
        self._fields.encode_to_stream([(e.uid, e.stream, e.type, e.ts, e.ids, e.attrs, e.contact) for e in value],
                                      stream, nested)

    def estimate_size(self, value: list, nested: bool = False) -> int:
        """A rough size (bytes) without encoding: Beam samples element sizes for its metrics."""
        return 300 * len(value)

    def decode_from_stream(self, stream: Any, nested: bool) -> EventBatch:
        """Reads the list written by :meth:`encode_to_stream` back into an EventBatch."""
        return EventBatch([Event(*t) for t in self._fields.decode_from_stream(stream, nested)])


class _ClusterItemsCoderImpl(coder_impl.StreamCoderImpl):
    """ClusterItems ↔ the FastPrimitives encoding of a list of ``(event fields..., links)`` tuples."""

    def __init__(self) -> None:
        self._fields = FastPrimitivesCoder().get_impl()

    def encode_to_stream(self, value: list, stream: Any, nested: bool) -> None:
        """Writes the items as a list of ``(uid, stream, type, ts, ids, attrs, contact, links)`` tuples."""
        self._fields.encode_to_stream([(e.uid, e.stream, e.type, e.ts, e.ids, e.attrs, e.contact, links)
                                       for e, links in value], stream, nested)

    def estimate_size(self, value: list, nested: bool = False) -> int:
        """A rough size (bytes) without encoding: Beam samples element sizes for its metrics."""
        return 300 * len(value)

    def decode_from_stream(self, stream: Any, nested: bool) -> ClusterItems:
        """Reads the list written by :meth:`encode_to_stream` back into ClusterItems."""
        return ClusterItems([(Event(u, s, t, ts, ids, a, c), links)
                             for u, s, t, ts, ids, a, c, links in self._fields.decode_from_stream(stream, nested)])


class _ListCoder(FastCoder):
    """A coder of one of the list types above (values, never keys: not deterministic)."""

    _impl_type: type = coder_impl.StreamCoderImpl
    _type: type = list

    def _create_impl(self):
        return self._impl_type()

    def is_deterministic(self) -> bool:
        """False: batches are never keys."""
        return False

    def to_type_hint(self):
        """The list type this coder encodes."""
        return self._type

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class EventBatchCoder(_ListCoder):
    """Beam coder of :class:`EventBatch`."""

    _impl_type, _type = _EventBatchCoderImpl, EventBatch


class ClusterItemsCoder(_ListCoder):
    """Beam coder of :class:`ClusterItems`."""

    _impl_type, _type = _ClusterItemsCoderImpl, ClusterItems


beam.coders.registry.register_coder(Event, EventCoder)
beam.coders.registry.register_coder(EventBatch, EventBatchCoder)
beam.coders.registry.register_coder(ClusterItems, ClusterItemsCoder)

#: Element type of the replay's keyed items: ``(cluster id, (event, accepted links))``.
KEYED_ITEM = typehints.Tuple[str, typehints.Tuple[Event, typehints.Any]]
#: Element type of the replay's keyed batches: ``(cluster id, ClusterItems)``.
KEYED_ITEMS = typehints.Tuple[str, ClusterItems]
