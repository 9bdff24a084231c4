"""The ``msgspec`` types of the built-in streams' records, generated from ``schemas/<stream>.avsc`` (the typed
decoders of :mod:`journeyflow.stages.parse_fast`).

Type mapping (Avro -> msgspec): ``string`` -> ``str``; ``long`` -> ``int`` within the signed 64-bit range;
``["double", "long"]`` -> ``float | int`` (msgspec keeps a JSON integer an ``int``, as ``json.loads`` does);
``boolean`` -> ``bool``; ``enum`` -> ``Literal[symbols]``; ``array`` / ``map`` -> ``list`` / ``dict[str, …]``;
``["null", X]`` -> ``X | None``.  A field is required in the decoder when its Avro type has no ``null`` (except the
fields :mod:`journeyflow.stages.fields` treats a ``null`` of as absent: ``product_ids``, ``properties``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

import msgspec

from journeyflow.stages import fields as _fields

__all__ = ["Unsupported", "field_decoder", "struct_for"]

_LONG = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_INT = Annotated[int, msgspec.Meta(ge=-(1 << 31), le=(1 << 31) - 1)]
_PRIMITIVES: dict[str, Any] = {"string": str, "long": _LONG, "int": _INT, "boolean": bool}


class Unsupported(Exception):
    """An Avro shape without an exact msgspec counterpart: the stream stays on the full path."""


def _py_type(t: Any) -> Any:
    if isinstance(t, list):
        members = [x for x in t if x != "null"]
        nums = {m for m in members if isinstance(m, str) and m in ("double", "float", "long", "int")}
        if nums and nums != {"long"} and nums != {"int"}:
            if nums != {"double", "long"}:  # a lone double would turn JSON integers into floats
                raise Unsupported(f"numeric union {sorted(nums)}")
            members = [m for m in members if m not in nums]
            types = [_py_type(m) for m in members] + [float, _LONG]
        else:
            types = [_py_type(m) for m in members]
        if not types:
            raise Unsupported("union of null only")
        out = Union[tuple(types)] if len(types) > 1 else types[0]  # noqa: UP007 (built at run time)
        return Optional[out] if "null" in t else out  # noqa: UP007
    if isinstance(t, str):
        if t in _PRIMITIVES:
            return _PRIMITIVES[t]
        raise Unsupported(f"type {t!r}")
    kind = t.get("type")
    if kind == "enum":
        return Literal[tuple(t["symbols"])]
    if kind == "array":
        return list[_py_type(t["items"])]
    if kind == "map":
        return dict[str, _py_type(t["values"])]
    if kind in _PRIMITIVES and len(t) == 1:
        return _PRIMITIVES[kind]
    raise Unsupported(f"type {kind!r}")


def _field_type(f: dict) -> Any:
    """The msgspec type of one Avro field and whether the decoder may leave it out (then None)."""
    typ = _py_type(f["type"])
    if isinstance(f["type"], list) and "null" in f["type"]:
        return typ, True
    if f["name"] in _fields._NOT_NULLABLE and "default" in f:
        return Optional[typ], True  # noqa: UP007
    return typ, False


def struct_for(stream: str, schema: dict, raw_fields: frozenset[str] = frozenset(),
               forbid_unknown_fields: bool = True) -> type[msgspec.Struct]:
    """A ``msgspec.Struct`` type decoding one JSON record of ``stream`` as its Avro ``schema`` (a parsed
    ``schemas/<stream>.avsc``) types it; raises :class:`Unsupported` for a shape without an exact counterpart.
    The fields named in ``raw_fields`` are kept undecoded (``msgspec.Raw``, None when absent): the caller decodes
    them with :func:`field_decoder` (and may cache the result by the raw text).  ``forbid_unknown_fields``: a
    field the schema does not name fails the decode (else it is skipped)."""
    fields = []  # in the schema's order, the order records are written in: msgspec finds each key at the next field
    for f in schema["fields"]:
        typ, may_lack = _field_type(f)
        if f["name"] in raw_fields:
            fields.append((f["name"], msgspec.Raw, None))
        else:  # (kw_only: a required field may follow one with a default)
            fields.append((f["name"], typ, None) if may_lack else (f["name"], typ))
    # gc=False: a decoded record holds no cycle (strings, numbers, lists and maps of them), and it is short-lived
    return msgspec.defstruct(f"Fast{stream.title()}Record", fields, kw_only=True, gc=False,
                             forbid_unknown_fields=forbid_unknown_fields)


def field_decoder(schema: dict, name: str) -> msgspec.json.Decoder:
    """A decoder of the JSON value of field ``name`` alone, typed as :func:`struct_for` types it (a JSON null is
    None where the field may be left out)."""
    typ, _may_lack = _field_type(next(f for f in schema["fields"] if f["name"] == name))
    return msgspec.json.Decoder(typ)
