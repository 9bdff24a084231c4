"""Segment batch envelopes: ``{"batch": [message, ...]}`` (the Segment HTTP tracking API's ``/v1/batch`` body,
segment.com/docs/connections/sources/catalog/libraries/server/http-api/#batch) split into their messages.

The sources split them (files: one line may hold a batch; Pub/Sub: one message may), so that every message is one
record read and gets its own event or dead letter: decided + dead letters = records read.  Envelope fields other
than ``batch`` apply to every message as the HTTP API documents them: the envelope's ``context`` and
``integrations`` are *merged* with each message's own (segment-docs, HTTP API "Batch": "it will be merged with any
context inside each of the items in the batch"; a message's own value wins for a key both set, objects merged key
by key: the envelope's ``context.timezone`` and a message's ``context.traits`` both hold); ``sentAt`` (the
libraries set it once per batch, e.g. analytics-python) applies to every message that does not set its own.  A
message's ``null``, ``""`` or ``[]`` for one of these fields is no value of its own (the envelope's applies).

A message that writes a key more than once (``{"type": "track", "event": "Unsubscribed", ..., "event": "x"}``, or
``properties.channel`` twice) keeps every value in its record, in order, as a message on a line of its own does: the
parser's fail-safe reading of repeated opt-out keys (``stages.duplicate_keys``) then applies to it too (decoding the
envelope kept only the last value: the unsubscribe was lost).  An envelope that writes ``batch`` itself more than
once is split into the messages of every array, in order (the last array alone left the others unread and
uncounted).
"""
from __future__ import annotations

import json
from typing import Any

from journeyflow.stages.duplicate_keys import calls_other_than_track, escaped_keys, key_count
from journeyflow.stages.json_text import loads_json

__all__ = ["batch_count", "split_batch"]

_SHARED = ("context", "integrations", "sentAt")
#: envelope objects merged with the message's own (the others are taken only when the message has none)
_MERGED = ("context", "integrations")


def split_batch(payload: Any, _nested: bool = True, _outer: dict | None = None,
                _written: list | None = None) -> list[bytes] | None:
    """The messages of a batch envelope as compact JSON bytes (an item that is not an object is passed on as it is,
    to be dead-lettered by the parser), or None when ``payload`` (bytes, text or a decoded dict) is not a batch
    envelope (then it is one message, parsed as it is) or is an *empty* one (``{"batch": []}``, ``[]``): that is one
    record read, dead-lettered by the parser with its reason -- split into no message, it was neither decided nor a
    dead letter, so a line (a Pub/Sub message) vanished without trace.  A JSON *array* of messages (what webhook
    destinations such as Segment's batched "Webhooks (Actions)" post, one array per request) is a batch too, without
    shared fields.  An array whose items are themselves non-empty envelopes or arrays (a file of collected request
    bodies: ``[{"batch": [...]}, [...]]``) is split into all their messages, one level deep; the shared fields of
    every envelope around a message apply to it, the nearer one's over the outer one's (an envelope's over the
    envelope whose batch holds it: its ``context`` merged over the outer ``context``; the message's own over both:
    the outer envelope's ``context.traits.email`` was lost to the messages of a nested body), and a message of a
    nested body that repeats a key keeps every value as one of the outer batch does (the body was one dead letter).
    ``_outer``: the shared fields of the envelope around ``payload``; ``_written``: its messages decoded keeping
    repetitions (``_repeated_pairs``), for a nested body.
    Cheap for ordinary messages: JSON is only decoded when the text holds ``"batch"`` or starts with ``[``."""
    env = _envelope(payload)
    if env is None:
        return None
    items, shared = env
    if _outer:
        shared = _over(_outer, shared)
    if _written is None:
        repeats = _repeated_pairs(payload, items)
    else:
        repeats = {i: m for i, m in enumerate(_written) if isinstance(m, dict) and _repeats(m)} \
            if len(_written) == len(items) else {}
    out = []
    for i, m in enumerate(items):
        if _nested and (inner := _inner(m)) is not None:  # an array of request bodies: each one's messages
            out += split_batch(inner, False, shared, _inner_written(repeats.get(i)))
            continue
        if isinstance(m, dict) and shared:
            m = _over(shared, m)
        out.append(_encoded(m) if i not in repeats else _with_repetitions(m, repeats[i]))
    return out


def _over(shared: dict, m: dict) -> dict:
    """``m`` (a message, or a nested envelope's shared fields) with the envelope's ``shared`` fields it lacks: an
    item's null, "" or [] (PHP's empty object) for a shared field is no value of its own (it replaced the envelope's
    context, its traits.email lost; or its sentAt); ``context`` and ``integrations`` merged key by key."""
    out = {**shared, **{k: v for k, v in m.items() if k not in shared or not _absent(v)}}
    for k in _MERGED:
        if isinstance(shared.get(k), dict) and isinstance(out.get(k), dict) and out[k] is not shared[k]:
            out[k] = _merged(shared[k], out[k])
    return out


def _inner_written(written: Any) -> list | None:
    """The messages of a nested body as :func:`_repeated_pairs` decoded them (keeping repeated keys), or None."""
    if isinstance(written, list):
        return written
    if isinstance(written, dict):
        arrays = [v for k, v in written.pairs if k == "batch"] if isinstance(written, _Pairs) else [written.get("batch")]
        return _joined(arrays) if all(isinstance(a, list) for a in arrays) else None
    return None


def batch_count(payload: Any) -> int | None:
    """How many records :func:`split_batch` makes of ``payload`` (None: it is one record itself), without encoding
    them: the replay's progress counts records as its reader does (``cli.progress.count_input_records``)."""
    env = _envelope(payload)
    if env is None:
        return None
    return sum(len(inner[0]) if (inner := _envelope(m) if _inner(m) is not None else None) else 1 for m in env[0])


def _inner(m: Any) -> list | dict | None:
    """``m`` when it is itself a non-empty batch envelope or array of messages, else None."""
    return m if isinstance(m, (list, dict)) and _envelope(m) is not None else None


def _envelope(payload: Any) -> tuple[list, dict] | None:
    """``(messages, shared envelope fields)`` of a non-empty batch envelope or array, else None."""
    if isinstance(payload, str) and payload.startswith("\ufeff"):
        payload = payload[1:]  # a byte order mark (json.loads of bytes skips it itself)
    if isinstance(payload, (bytes, bytearray, str)):
        if not _may_be_batch(payload):
            return None
        try:
            obj = loads_json(payload)
        except (ValueError, RecursionError):
            return None
    else:
        obj = payload
    if isinstance(obj, list):
        return (obj, {}) if obj else None
    if not isinstance(obj, dict) or not isinstance(obj.get("batch"), list) or "type" in obj or not obj["batch"]:
        return None
    return _all_batches(payload, obj), {k: obj[k] for k in _SHARED if k in obj}


def _all_batches(payload: Any, obj: dict) -> list:
    """The messages of an envelope ``obj`` (decoded from ``payload``): every ``batch`` array it writes, in order,
    when it writes the key more than once (``{"batch": [a], "batch": [b]}``: decoding kept only the last, and the
    first array's messages -- an unsubscribe among them -- vanished without a record or a dead letter)."""
    if not isinstance(payload, (bytes, bytearray, str)) or key_count(payload, "batch") < 2:
        return obj["batch"]
    top: list = []

    def hook(pairs: list) -> dict:
        top[:] = pairs  # the outermost object is the last one decoded
        return dict(pairs)

    text = payload[1:] if isinstance(payload, str) and payload.startswith("\ufeff") else payload
    try:
        json.loads(text, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return obj["batch"]
    arrays = [v for k, v in top if k == "batch"]
    if len(arrays) < 2:
        return obj["batch"]
    return _joined(arrays)


def _joined(arrays: list) -> list:
    """The messages of several ``batch`` values in order (a value that is not an array: one record, dead-lettered)."""
    return [m for a in arrays for m in (a if isinstance(a, list) else [a])]


class _Pairs(dict):
    """A decoded object that wrote a key more than once: ``pairs`` holds every (key, value) as written."""

    pairs: list


def _pairs_hook(pairs: list) -> dict:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    out = _Pairs(d)
    out.pairs = pairs
    return out


def _repeated_pairs(payload: Any, items: list) -> dict[int, dict]:
    """``{index: the message decoded keeping repetitions}`` (objects that write a key more than once are
    :class:`_Pairs`) of the batch's messages that repeat a key, at the top or inside (``{}`` for a decoded payload:
    its repetitions are gone).  Cheap for ordinary batches: decoded a second time only when a key that decides an
    opt-out (``stages.duplicate_keys``: ``event``, ``properties.channel``) occurs in the text more often than the
    messages hold it."""
    if not isinstance(payload, (bytes, bytearray, str)):
        return {}
    dicts = [m for m in items if isinstance(m, dict)]
    held = {"event": sum(1 for m in dicts if "event" in m),
            "channel": sum(("channel" in m) + (isinstance(m.get("properties"), dict) and "channel" in m["properties"])
                           for m in dicts)}
    escaped = escaped_keys(payload)  # ("\\u0065vent" is "event": duplicate_keys.key_count)
    if not any(key_count(payload, k, escaped) > n for k, n in held.items()) \
            and not any(calls_other_than_track(m) for m in dicts):  # (a call type written twice may hide a track)
        return {}
    if isinstance(payload, str) and payload.startswith("\ufeff"):
        payload = payload[1:]
    try:
        obj = json.loads(payload, object_pairs_hook=_pairs_hook)
    except (ValueError, RecursionError):
        return {}
    again = obj if isinstance(obj, list) else None
    if isinstance(obj, dict) and isinstance(obj.get("batch"), list):  # every batch array, as _all_batches
        again = _joined([v for k, v in obj.pairs if k == "batch"]) if isinstance(obj, _Pairs) else obj["batch"]
    if not isinstance(again, list) or len(again) != len(items):
        return {}
    return {i: m for i, m in enumerate(again) if isinstance(m, (dict, list)) and _repeats(m)}  # (a list: a body)


def _repeats(v: Any) -> bool:
    """True when ``v`` (decoded with :func:`_pairs_hook`) holds an object that writes a key more than once."""
    if isinstance(v, _Pairs):
        return True
    if isinstance(v, dict):
        return any(_repeats(x) for x in v.values())
    if isinstance(v, list):
        return any(_repeats(x) for x in v)
    return False


def _with_repetitions(message: dict, written: dict) -> bytes:
    """:func:`_encoded` of ``message`` (shared fields merged) with every key it wrote more than once -- at the top
    or inside, as ``written`` (the same message decoded keeping repetitions) holds them -- written again with each
    value in order: the message's own text, as far as repetitions go.  A merged field is taken from ``message``."""
    pairs = written.pairs if isinstance(written, _Pairs) else list(written.items())
    last = {k: i for i, (k, _v) in enumerate(pairs)}
    body = [(k, v) for i, (k, v) in enumerate(pairs) if last[k] != i]  # the earlier values of a repeated key
    body += [(k, written[k] if k in written and written[k] == v else v) for k, v in message.items()]
    try:
        return _dump(_DictPairs(body), False).encode("utf-8")
    except UnicodeEncodeError:
        return _dump(_DictPairs(body), True).encode("ascii")


class _DictPairs(list):
    """Key-value pairs to write as one JSON object, in order (a key may repeat)."""


def _dump(v: Any, ascii_only: bool) -> str:
    """Compact JSON of ``v``, :class:`_Pairs` and :class:`_DictPairs` written pair by pair (repeated keys kept)."""
    if isinstance(v, (_Pairs, _DictPairs)):
        pairs = v.pairs if isinstance(v, _Pairs) else v
        return "{" + ",".join(json.dumps(k, ensure_ascii=ascii_only) + ":" + _dump(x, ascii_only)
                              for k, x in pairs) + "}"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=ascii_only) + ":" + _dump(x, ascii_only)
                              for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_dump(x, ascii_only) for x in v) + "]"
    return json.dumps(v, ensure_ascii=ascii_only)


def _absent(v: Any) -> bool:
    """True for a value that says nothing: null, an empty string, an empty array (PHP's ``[]`` for ``{}``)."""
    return v is None or (v.__class__ in (str, list) and not v)


def _encoded(message: Any) -> bytes:
    """One message as compact UTF-8 JSON; a string holding a lone surrogate (``"\\ud83d"``: JavaScript cutting an
    emoji in half, which JSON's escapes can carry but UTF-8 cannot) is written escaped (``ensure_ascii``), so the
    message reads back as sent and is parsed, or dead-lettered, on its own: it never fails the read of its batch."""
    try:
        return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(message, separators=(",", ":")).encode("ascii")


def _may_be_batch(payload: bytes | bytearray | str) -> bool:
    """True when ``payload`` may be a batch: it holds ``"batch"`` or its first non-blank character is ``[``."""
    if isinstance(payload, str):
        return '"batch"' in payload or payload.lstrip(" \t\r\n\ufeff")[:1] == "[" or "batch" in escaped_keys(payload)
    if b'"batch"' in payload or "batch" in escaped_keys(payload):  # ("\\u0062atch": duplicate_keys.key_count)
        return True
    head = payload[:1]
    if head in (b" ", b"\t", b"\xef", b"\r", b"\n"):
        head = bytes(payload).lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t")[:1]
    return head == b"["


def _merged(base: dict, own: dict) -> dict:
    """``base`` (the envelope's object) with ``own`` (the message's) over it, objects merged key by key."""
    out = dict(base)
    for k, v in own.items():
        b = out.get(k)
        out[k] = _merged(b, v) if isinstance(b, dict) and isinstance(v, dict) else v
    return out
