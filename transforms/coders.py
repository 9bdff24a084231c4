"""Beam coders for journeyflow's own records, so the replay's stages do not fall back to pickling per element.

Without a registered coder Beam encodes an :class:`~journeyflow.model.events.Event` (a slots dataclass) with its
``FastPrimitivesCoder``'s pickle fallback: ~4.2 µs per encode+decode on the demo input vs ~1.2 µs for the same
fields as a plain tuple (issue 22).  :class:`EventCoder` encodes the event's seven fields as that tuple with
Beam's own primitive encoding (strings, ints, lists, tuples and dicts keep their types, so a decoded event equals
the original, attribute order included); the streaming path stores buffered events in that form.  Every decode
builds its events with :func:`journeyflow.stages.parse_fast.make_event` (the slots filled directly: about half the
cost of the frozen dataclass's ``__init__``).

The replay moves lists between its stages (issue 22): :class:`EventBatch` / :class:`EventRows`,
:class:`ClusterItems` / :class:`ClusterRows`, :class:`Payloads` and :class:`Batch` (any other records: dead
letters, messages, rows).  Their coders write the whole list in one C-level call: the events' and the payloads' lists
as plain field tuples, strings and dicts with ``marshal`` (:func:`pack`: a third cheaper to write than a pickle,
as cheap to read; a pickle for a list holding anything marshal refuses), a Batch of objects as a pickle; and they
estimate sizes without encoding: Beam samples the size of the first ten elements of every PCollection, and a list
with a pickle fallback was pickled whole for each sample (2.3 s of a demo replay).

The coders are registered in Beam's coder registry when this module is imported (``transforms.parse`` imports
it); a PCollection whose element type names one of these types (``KEYED_ITEM``, ``KEYED_ITEMS``,
``DESTINATION_BATCH``, or :func:`typed`) is then encoded with it.
"""
from __future__ import annotations

import marshal
import pickle
from itertools import starmap
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.coders import coder_impl
from apache_beam.coders.coders import FastCoder, FastPrimitivesCoder
from apache_beam.typehints import typehints

from journeyflow.model.events import Event
from journeyflow.stages.parse_fast import make_event


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
        return make_event(*self._fields.decode_from_stream(stream, nested))


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
    """A list of records passed between the replay's stages as one Beam element (issue 22), encoded by
    :class:`BatchCoder` where its PCollection is typed ``Batch`` (:func:`typed`)."""


class EventBatch(list):
    """A list of :class:`~journeyflow.model.events.Event` s: the replay's unit between its stages (issue 22: one
    Beam element per batch instead of per event; see :class:`EventBatchCoder`)."""


class ClusterItems(list):
    """Replay items of one identity cluster: a list of ``(event, accepted links of that event)`` pairs (links: a
    tuple of ``(a, b)`` identifier pairs).  The value of the replay's keyed ``(cluster id, ClusterItems)``."""


class ClusterRows(ClusterItems):
    """ClusterItems given as their encoded items: ``(uid, stream, type, ts, ids, attrs, contact, links)`` tuples
    (the replay's ``KeyByCluster`` output: no Event built for an event it passes on as it came).  Encoded as they
    are by the ClusterItems coder, and decoded as every ClusterItems (:class:`PackedItems`: ``(event, links)``
    pairs); iterating a ClusterRows itself gives the tuples."""


_DUMPS, _LOADS, _PROTOCOL = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
_MARSHAL, _UNMARSHAL = marshal.dumps, marshal.loads
#: The first byte of every pickle of protocol 2 or more (the PROTO opcode); never the first byte of a marshal (a type
#: code, with or without its 0x80 reference flag: type code 0 does not exist).
_PICKLE_FIRST = pickle.PROTO[0]


def pack(values: list) -> bytes:
    """A plain list of field tuples, strings, numbers, dicts, lists... as bytes for :func:`unpack`: ``marshal``
    (about a third cheaper to write than a pickle for the replay's events, and as cheap to read; issue 22) when
    every value is of a type marshal gives back exactly (``str``, ``bytes``, ``int``, ``bool``, ``float``, None,
    ``tuple``, ``list``, ``dict``, ``set``, ``frozenset``; it refuses their subclasses other than bytes-like ones,
    enum members, NamedTuples and other objects), else a pickle.  Both keep types, dict order and shared objects.
    ``values`` must be a ``list`` itself (not a subclass) and hold no bytes-like value other than an exact ``bytes``:
    marshal writes any object with the buffer protocol (``bytearray``, ``memoryview``, a ``bytes`` subclass,
    ``array.array``, numpy scalars and arrays) as plain ``bytes`` without an error, so such a value would come back
    as ``bytes`` (the session-20 review's finding).  The replay's packed values hold none: event fields come from
    ``json``/``msgspec``/``fastavro`` as exact types (web ``properties`` are copied out of ``msgspec.Raw``), topic
    data is ``bytes``, table rows are built by journeyflow's own row functions."""
    try:
        return _MARSHAL(values)
    except ValueError:  # (a value marshal refuses: an enum member, a NamedTuple, any object; or too deep)
        return _DUMPS(values, _PROTOCOL)


def unpack(data: bytes) -> Any:
    """The values :func:`pack` wrote (a pickle is told by its first byte)."""
    return _LOADS(data) if data[0] == _PICKLE_FIRST else _UNMARSHAL(data)
#: Rough bytes per record of a batch: Beam samples every output's element sizes for its metrics (the first ten
#: elements of every PCollection, then ~10/N of them).  Encoding a whole batch for that cost as much as sending it.
_RECORD_BYTES = 300


class _BatchCoderImpl(coder_impl.StreamCoderImpl):
    """Batch ↔ one pickle of the list (one C-level call per batch; records of any picklable type)."""

    def encode_to_stream(self, value: list, stream: Any, nested: bool) -> None:
        """Writes the pickled batch (length-prefixed when nested)."""
        stream.write(_DUMPS(value, _PROTOCOL), nested)

    def decode_from_stream(self, stream: Any, nested: bool) -> Batch:
        """Reads the batch written by :meth:`encode_to_stream`."""
        return _LOADS(stream.read_all(nested))

    def estimate_size(self, value: list, nested: bool = False) -> int:
        """A rough size (bytes) without encoding (see :data:`_RECORD_BYTES`)."""
        return _RECORD_BYTES * len(value)


class _EventBatchCoderImpl(_BatchCoderImpl):
    """EventBatch ↔ the list of the events' ``(uid, stream, type, ts, ids, attrs, contact)`` tuples, :func:`pack` ed
    (plain tuples of strings, ints, tuples and dicts: types and attribute order come back as they were)."""

    def encode_to_stream(self, value: list, stream: Any, nested: bool) -> None:
        """Writes the batch as one packed list of field tuples."""
        stream.write(pack([(e.uid, e.stream, e.type, e.ts, e.ids, e.attrs, e.contact) for e in value]), nested)

    def decode_from_stream(self, stream: Any, nested: bool) -> EventBatch:
        """Reads the list written by :meth:`encode_to_stream` back into an EventBatch."""
        return EventBatch(starmap(make_event, unpack(stream.read_all(nested))))


class EventRows(list):
    """The events of an EventBatch as their ``(uid, stream, type, ts, ids, attrs, contact)`` field tuples (the
    replay's ``KeyByCluster`` input: it builds an Event only for the few events it must change or link, and passes
    the others' fields on as they came: issue 22).  :func:`event_rows` makes one."""


def event_rows(batch: list) -> EventRows:
    """The EventRows of a list of Events."""
    return EventRows([(e.uid, e.stream, e.type, e.ts, e.ids, e.attrs, e.contact) for e in batch])


class _EventRowsCoderImpl(_BatchCoderImpl):
    """EventRows ↔ its list of field tuples, :func:`pack` ed."""

    def encode_to_stream(self, value: list, stream: Any, nested: bool) -> None:
        """Writes the rows as one packed list."""
        stream.write(pack(list(value)), nested)

    def decode_from_stream(self, stream: Any, nested: bool) -> EventRows:
        """Reads the rows written by :meth:`encode_to_stream`."""
        return EventRows(unpack(stream.read_all(nested)))


class PackedItems:
    """Decoded :class:`ClusterItems` still in their encoded form (``data``: the pickled field tuples), unpacked
    when iterated (each iteration unpacks again; ``list(packed)`` once to keep them).

    The FnApiRunner decodes every value a GroupByKey receives and encodes it again to hand the groups out, and a
    Flatten before it costs one more decode and encode: for the replay's events, twice building every Event
    only to take it apart again, and the runner's buffer holding objects instead of bytes (issue 22).  Packed,
    each hop copies bytes, and the events are built once, where the fold iterates them."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __iter__(self) -> Iterator[tuple[Event, Any]]:
        """The ``(event, links)`` items, unpacked."""
        make = make_event
        return iter([(make(u, s, t, ts, ids, a, c), links) for u, s, t, ts, ids, a, c, links in unpack(self.data)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackedItems) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


def cluster_pairs(items: Any) -> Any:
    """The ``(event, accepted links)`` pairs of a ClusterItems value as a step receives it: a :class:`PackedItems`
    (decoded by the coder), a :class:`ClusterRows` that was never encoded (a runner that hands values from step to
    step as they are: the bundle-based DirectRunner) or a ClusterItems of pairs."""
    if type(items) is ClusterRows:
        make = make_event
        return [(make(u, s, t, ts, ids, a, c), links) for u, s, t, ts, ids, a, c, links in items]
    return items


class _ClusterItemsCoderImpl(_BatchCoderImpl):
    """ClusterItems ↔ the list of ``(uid, stream, type, ts, ids, attrs, contact, links)`` tuples, :func:`pack` ed,
    decoded as :class:`PackedItems` (a PackedItems is written back as its bytes, a :class:`ClusterRows` as the
    tuples it holds)."""

    def encode_to_stream(self, value: Any, stream: Any, nested: bool) -> None:
        """Writes the items as one packed list of field tuples."""
        kind = type(value)
        if kind is PackedItems:
            stream.write(value.data, nested)
            return
        stream.write(pack(list(value) if kind is ClusterRows else
                          [(e.uid, e.stream, e.type, e.ts, e.ids, e.attrs, e.contact, links) for e, links in value]),
                     nested)

    def decode_from_stream(self, stream: Any, nested: bool) -> PackedItems:
        """The items written by :meth:`encode_to_stream`, packed (:class:`PackedItems`)."""
        return PackedItems(stream.read_all(nested))

    def estimate_size(self, value: Any, nested: bool = False) -> int:
        """The packed size, or a rough one (see :data:`_RECORD_BYTES`)."""
        return len(value.data) if type(value) is PackedItems else _RECORD_BYTES * len(value)


class _ListCoder(FastCoder):
    """A coder of one of the list types above (values, never keys: not deterministic)."""

    _impl_type: type = _BatchCoderImpl
    _type: type = Batch

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


class BatchCoder(_ListCoder):
    """Beam coder of :class:`Batch`."""


class EventBatchCoder(_ListCoder):
    """Beam coder of :class:`EventBatch`."""

    _impl_type, _type = _EventBatchCoderImpl, EventBatch


class ClusterItemsCoder(_ListCoder):
    """Beam coder of :class:`ClusterItems`."""

    _impl_type, _type = _ClusterItemsCoderImpl, ClusterItems


class Payloads(Batch):
    """The file sink's payloads for one destination (topic lines, table rows: ``DESTINATION_BATCH``), decoded as
    :class:`PackedPayloads` (the GroupByKey by destination copies bytes, as :class:`PackedItems` do)."""


class PackedPayloads:
    """Decoded :class:`Payloads` still packed (``data``: :func:`pack`); iterating unpacks them."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __iter__(self) -> Iterator[Any]:
        """The payloads, unpacked."""
        return iter(unpack(self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackedPayloads) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


class _PayloadsCoderImpl(_BatchCoderImpl):
    """A list of payloads ↔ :func:`pack` of it, decoded as :class:`PackedPayloads` (written back as its bytes)."""

    def encode_to_stream(self, value: Any, stream: Any, nested: bool) -> None:
        """Writes the packed list (a PackedPayloads: its bytes)."""
        stream.write(value.data if type(value) is PackedPayloads else pack(list(value)), nested)

    def decode_from_stream(self, stream: Any, nested: bool) -> PackedPayloads:
        """The list written by :meth:`encode_to_stream`, packed."""
        return PackedPayloads(stream.read_all(nested))

    def estimate_size(self, value: Any, nested: bool = False) -> int:
        """The packed size, or a rough one (see :data:`_RECORD_BYTES`)."""
        return len(value.data) if type(value) is PackedPayloads else _RECORD_BYTES * len(value)


class EventRowsCoder(_ListCoder):
    """Beam coder of :class:`EventRows`."""

    _impl_type, _type = _EventRowsCoderImpl, EventRows


class PayloadsCoder(_ListCoder):
    """Beam coder of :class:`Payloads`."""

    _impl_type, _type = _PayloadsCoderImpl, Payloads


def typed(pc: beam.PCollection, element_type: Any = None) -> beam.PCollection:
    """``pc`` with its element type set to ``element_type`` (default :class:`Batch`) and returned: for a
    PCollection a step cannot type with ``with_output_types`` (a tagged output), so that Beam encodes it with the
    registered coder instead of pickling every sampled element for its size metrics (issue 22)."""
    pc.element_type = Batch if element_type is None else element_type
    return pc


beam.coders.registry.register_coder(Event, EventCoder)
beam.coders.registry.register_coder(Batch, BatchCoder)
beam.coders.registry.register_coder(Payloads, PayloadsCoder)
beam.coders.registry.register_coder(EventBatch, EventBatchCoder)
beam.coders.registry.register_coder(ClusterItems, ClusterItemsCoder)
beam.coders.registry.register_coder(EventRows, EventRowsCoder)

#: Element type of the replay's keyed items: ``(cluster id, (event, accepted links))``.
KEYED_ITEM = typehints.Tuple[str, typehints.Tuple[Event, typehints.Any]]
#: Element type of the replay's keyed batches: ``(cluster id, ClusterItems)``.
KEYED_ITEMS = typehints.Tuple[str, ClusterItems]
#: Element type of the file sink's items: ``(destination, list of payloads)`` (``transforms.sinks.files``).
DESTINATION_BATCH = typehints.Tuple[typehints.Tuple[str, str, str], Payloads]
