"""A record's JSON object holding a key twice, read fail safe for opt-outs.

RFC 8259 §4: the names within an object SHOULD be unique; when they are not, "many implementations report the last
name/value pair only" -- Python's ``json`` and ``msgspec`` do.  So ``{"status": "revoked", ..., "status":
"granted"}`` (a serializer or template that writes a field twice) was a *grant*: the revoke was lost, and the next
promotion went out.  Compliance fails safe (at any tie or ordering, opt-outs apply first): when a top-level field
that decides whether a record is an opt-out is written more than once with different values, the record is read
as the opt-out any of them makes it:

==========  ==========  =====================================================================================
stream      field       value read
==========  ==========  =====================================================================================
consent     status      ``revoked`` when any value reads as a revoke (``fold_symbol``, ``ENUM_SYNONYMS``)
engagement  type        ``unsubscribed``, else ``complained``, else ``bounced``: the first any value reads as
consent,    channel     of such an opt-out (a revoke, an unsubscribe or complaint) with different channels:
engagement              every channel (``all``: each channel named is blocked, and no other value can say so)
track       event       (Segment) the first name that the mapping maps to an address-status event (unsubscribe,
                        complaint, bounce: ``chooser``)
track       properties  (Segment) of such an event: every value, as a list (the mapped opt-out reads a list of
            .channel    channels as the built-in streams read several: each one named is blocked), also when
                        ``properties`` itself is written twice (each object's channel counts)
track       type        (Segment) of such an event: ``track`` when any value is (``"type": "track", ...,
                        "type": "identify"`` kept the unsubscribe of neither); checked only when the last type
                        is not track (:func:`calls_other_than_track`), so ``context.device.type`` costs nothing
==========  ==========  =====================================================================================

Any other repeated key keeps the last value, as before.  Cheap for ordinary records: the text is decoded a second
time (with ``object_pairs_hook``) only when a decisive key's quoted name occurs in it more than once
(:func:`may_repeat`).  A name counts in every spelling a decoder reads as that name: ``"\u0074ype"`` and
``"typ\u0065"`` are ``"type"`` (RFC 8259 §7: any character may be escaped; decoders compare names unescaped, so
``{"status": "revoked", "\u0073tatus": "granted"}`` decoded to a grant while the check saw one ``"status"``):
:func:`key_count`.  Pure Python.  The messages inside a Segment batch envelope are covered too: the split
(``stages.segment.batch``) keeps every value of a key a message repeats, so each reaches the parser as written."""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from journeyflow.stages.spellings import ENUM_SYNONYMS, EVERY_CHANNEL, fold_symbol

__all__ = ["DECISIVE_KEYS", "calls_other_than_track", "escaped_keys", "fail_safe_values", "key_count", "may_repeat"]

#: Per stream, the top-level keys whose repetition is read fail safe.
DECISIVE_KEYS: dict[str, tuple[str, ...]] = {"consent": ("status", "channel"), "engagement": ("type", "channel"),
                                             "track": ("event",)}
_QUOTED_TEXT = {s: tuple(f'"{k}"' for k in ks) for s, ks in DECISIVE_KEYS.items()}
_QUOTED_BYTES = {s: tuple(k.encode() for k in ks) for s, ks in _QUOTED_TEXT.items()}
_OPT_OUT_TYPES = ("unsubscribed", "complained", "bounced")  # engagement, in order of preference
_KNOWN = {"status": ("granted", "revoked"), "type": (*_OPT_OUT_TYPES, "delivered", "opened", "clicked")}
_EVERY_CHANNEL_OPT_OUTS = {"consent": frozenset({"revoked"}), "engagement": frozenset({"unsubscribed", "complained"})}


#: a quoted string holding a \u escape and followed by a colon: an object name written with escapes
_ESCAPED_NAME = re.compile(r'"((?:[^"\\]|\\.)*?\\u[0-9A-Fa-f]{4}(?:[^"\\]|\\.)*?)"\s*:')


def escaped_keys(text: str | bytes) -> list[str]:
    """The object names of ``text`` (JSON) written with ``\\u`` escapes, unescaped (``"\\u0074ype":`` gives
    ``type``); ``[]`` at the cost of one scan when the text holds no ``\\u`` at all (the common record)."""
    if text.__class__ is str:
        if "\\u" not in text:
            return []
    else:
        if b"\\u" not in text:
            return []
        text = bytes(text).decode("utf-8", "replace")
    out = []
    for name in _ESCAPED_NAME.findall(text):
        try:
            out.append(json.loads(f'"{name}"'))
        except ValueError:  # (a lone surrogate or a broken escape: no decisive name)
            continue
    return out


def key_count(text: str | bytes, key: str, escaped: list[str] | None = None) -> int:
    """How often ``"key"`` occurs in ``text``, plain (as a name or a value: an upper bound) or as an object name
    written with escapes (``escaped``: :func:`escaped_keys` of ``text``, computed when None)."""
    plain = text.count(f'"{key}"' if text.__class__ is str else f'"{key}"'.encode())
    if escaped is None:
        escaped = escaped_keys(text)
    return plain + escaped.count(key) if escaped else plain


def may_repeat(stream: str, text: str | bytes, decoded: Any = None) -> bool:
    """True when a decisive key of ``stream`` (:data:`DECISIVE_KEYS`) may occur more than once in ``text`` (a
    Segment message, ``decoded`` given, only when it has an ``event`` at all: a page or identify call has none),
    in any spelling (:func:`key_count`: ``"\\u0074ype"`` is ``"type"``)."""
    if decoded is not None and stream == "track" and "event" not in decoded:
        return False
    escaped = escaped_keys(text)
    if escaped:
        return any(key_count(text, k, escaped) > 1 for k in (*DECISIVE_KEYS.get(stream, ()), "channel", "type"))
    keys = (_QUOTED_TEXT if text.__class__ is str else _QUOTED_BYTES).get(stream)
    if keys is not None:
        for k in keys:
            if text.count(k) > 1:
                return True
    if stream == "track":  # properties.channel of a Segment opt-out; a call type written twice
        if text.count('"channel"' if text.__class__ is str else b'"channel"') > 1:
            return True
        return calls_other_than_track(decoded) and text.count('"type"' if text.__class__ is str else b'"type"') > 1
    return False


def calls_other_than_track(message: Any) -> bool:
    """True when a decoded Segment message has an ``event`` but its (last) ``type`` is not ``track``: the only case
    where a repeated ``type`` may hide a track call's opt-out (``{"type": "track", "event": "Unsubscribed", ...,
    "type": "identify"}``).  Cheap: a mobile message's ``context.device.type`` does not make it decode again."""
    if not isinstance(message, dict) or "event" not in message:
        return False
    call = message.get("type")
    return not (isinstance(call, str) and call.strip().lower() == "track")


def _folded(stream: str, field: str, v: Any) -> Any:
    if v.__class__ is bool:
        v = "true" if v else "false"
    if not isinstance(v, str):
        return v
    f = fold_symbol(v)
    f = ENUM_SYNONYMS.get(stream, {}).get(field, {}).get(f, f)
    if f not in _KNOWN.get(field, ()):  # an opt-out in a tool's words (email.unsubscribed: stages.opt_out_names)
        from journeyflow.stages.opt_out_names import read_opt_out_name
        if (said := read_opt_out_name(v, stream)) is not None:
            return "revoked" if stream == "consent" else said.kind
    return f


def fail_safe_values(stream: str, text: str, chooser: Callable[[list[Any]], Any] | None = None) -> dict[str, Any]:
    """The top-level decisive keys of ``text`` (a record of ``stream`` that :func:`may_repeat`) written more than once
    with different values, each with the value to read (rules in the module docstring); ``{}`` when there is none.
    ``chooser`` (Segment ``event``): the value among the candidates to read, or None for the last one."""
    top: list = []
    nested: dict[int, list] = {}  # id of a decoded object that repeats a key -> its pairs (they stay alive)

    def hook(pairs: list) -> dict:
        top[:] = pairs  # the outermost object is the last one decoded
        d = dict(pairs)
        if len(d) < len(pairs):
            nested[id(d)] = pairs
        return d

    try:
        json.loads(text, object_pairs_hook=hook)
    except (ValueError, RecursionError):  # (the caller has decoded it already: nothing to add)
        return {}
    seen: dict[str, list[Any]] = {}
    for k, v in top:
        if k in DECISIVE_KEYS.get(stream, ()):
            seen.setdefault(k, []).append(v)
    repeated = {k: vs for k, vs in seen.items() if len(vs) > 1 and any(v != vs[0] for v in vs)}
    out: dict[str, Any] = {}
    if stream == "track":
        if "event" in repeated and chooser is not None and (pick := chooser(repeated["event"])) is not None:
            out["event"] = pick
        event = out.get("event", dict(top).get("event"))
        opt_out = chooser is not None and isinstance(event, str) and chooser([event]) is not None
        calls = [v for k, v in top if k == "type"]
        if opt_out and any(isinstance(c, str) and c.strip().lower() == "track" for c in calls):
            out["type"] = "track"  # a track call's opt-out written with another call type too: the opt-out holds
        # properties.channel written twice in one properties object, or in properties written twice
        props_objects = [v for k, v in top if k == "properties" and isinstance(v, dict)]
        channels = [c for obj in props_objects
                    for c in ([v for k, v in nested[id(obj)] if k == "channel"] if id(obj) in nested
                              else [obj["channel"]] if "channel" in obj else [])]
        if opt_out and len({repr(c) for c in channels}) > 1:  # an opt-out: of every channel it names
            props = dict(top).get("properties")
            out["properties"] = {**(props if isinstance(props, dict) else {}), "channel": list(dict.fromkeys(
                c for v in channels for c in (v if isinstance(v, list) else [v])
                if isinstance(c, (str, int, float)) and not isinstance(c, bool)))}
        return out
    decisive = "status" if stream == "consent" else "type"
    if decisive in repeated:
        folded = [_folded(stream, decisive, v) for v in repeated[decisive]]
        wanted = ("revoked",) if stream == "consent" else _OPT_OUT_TYPES
        pick = next((w for w in wanted if w in folded), None)
        if pick is not None:  # (as written: the words of a tool's name also name its channels, fields.fold_enums)
            out[decisive] = repeated[decisive][folded.index(pick)]
    if "channel" in repeated:
        kind = out.get(decisive, _folded(stream, decisive, dict(top).get(decisive)))
        if kind in _EVERY_CHANNEL_OPT_OUTS[stream]:
            out["channel"] = EVERY_CHANNEL
    return out
