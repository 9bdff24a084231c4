"""The ``ts`` attribute of an input Pub/Sub message: checked strictly, against the payload it travels with.

Plain Python (no Beam).  Publishers set ``ts`` (event time, epoch milliseconds, an ASCII integer string) on every
input message (``journeyflow publish`` does, from the payload's own ``ts``); the source uses it as the message's
event time (Dataflow's watermark follows it).  :func:`check_ts_attribute` decides whether a message whose payload
parsed into an :class:`~journeyflow.model.events.Event` may be used, or is a dead letter.  Checks, in order (the
first failure decides the reason, a :class:`~journeyflow.model.reasons.DeadLetterReason`):

=========================  ==========================================================================================
reason                     rule
=========================  ==========================================================================================
missing_ts_attribute       the message has no ``ts`` attribute (Beam's Java/Dataflow reader rejects such a message;
                           the Python local reader would silently fall back to the publish time)
bad_ts_attribute           ``ts`` is not ``-?[0-9]+`` (ASCII): ``"abc"``, ``""``, ``"1e12"``, ``" 1"``, ``"1.0"``,
                           an RFC 3339 time (Beam would accept that one; journeyflow's contract is epoch ms only)
ts_attribute_out_of_range  ``ts`` outside the event times the parser accepts for the payload
                           (:class:`~journeyflow.stages.parse.ParseConfig`: ``min_ts .. max_ts``, 2000-01-01 ..
                           2100-01-01 by default, and with ``max_ahead_ms`` at most that far after the message's
                           publish time): negative values, 25 nines, 50 years ahead
ts_mismatch                ``ts`` is not the payload's ``ts`` in epoch ms, exactly (no tolerance: the payload's time
                           is parsed exactly, ``journeyflow.stages.timeparse``, and a publisher derives the attribute
                           from it; any difference means the source's event time and the processing order disagree).
                           An item of a Segment batch envelope (source ``pubsub:<id>#k``) shares its message's
                           attribute, the batch's earliest event time: its own ``ts`` must be at or after it (the
                           source never stamps a message later than an event it carries)
=========================  ==========================================================================================

A message whose *payload* cannot be used is reported by the payload's reason (``journeyflow.stages.parse``): the
attribute is only a copy of the payload's time, so the payload's problem is the more useful one.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Mapping

from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.parse import Invalid, ParseConfig, ParseResult, Parser, mask_pii

__all__ = ["MAX_ATTRIBUTE_CHARS", "MAX_ATTRIBUTES", "TS_ATTRIBUTE", "check_ts_attribute", "masked_attributes",
           "parse_message"]

#: The attribute holding a message's event time (epoch ms).
TS_ATTRIBUTE = "ts"
#: A dead letter keeps at most this many attributes (Pub/Sub allows 100 per message) ...
MAX_ATTRIBUTES = 100
#: ... each key and value truncated to this many characters (Pub/Sub allows 256-byte keys, 1024-byte values).
MAX_ATTRIBUTE_CHARS = 256

_INTEGER = re.compile(r"-?[0-9]+")
_MAX_DIGITS = 30  # longer integers are out of any range; never convert them


def _show(value: str) -> str:
    """``value`` quoted for a detail message, at most 40 characters of it (PII masked by the caller)."""
    return json.dumps(value[:40] + ("…" if len(value) > 40 else ""), ensure_ascii=False)


def _unit_hint(at: int | None, event_ts: int) -> str:
    """``"; it is the payload's time in epoch seconds ..."`` when ``at`` is ``event_ts`` (epoch ms) written in
    another unit (whole seconds, µs, ns), else ``""``.  Beam's Pub/Sub source reads the attribute as epoch ms
    (``ReadFromPubSub(timestamp_attribute=...)``), so such a message would be stamped decades off: it stays a dead
    letter, with the likely cause named."""
    if at is None:
        return ""
    unit = ("seconds" if at * 1000 <= event_ts < (at + 1) * 1000 else "microseconds" if at == event_ts * 1000
            else "nanoseconds" if at == event_ts * 1_000_000 else None)
    return "" if unit is None else (f"; it is the payload's time in epoch {unit}: the attribute must be epoch "
                                    "milliseconds (Beam's Pub/Sub source reads it so)")


def check_ts_attribute(attributes: Mapping[str, str], event: Event, config: ParseConfig = ParseConfig(),
                       published_at: int | None = None, batch_item: bool = False) -> None:
    """Checks the ``ts`` attribute of a message whose payload parsed into ``event`` (rules: module docstring).

    ``attributes``: the message's attributes; ``config``: the parser's event-time bounds; ``published_at``: the
    message's publish time (epoch ms), for ``config.max_ahead_ms``; ``batch_item``: the event is one message of a
    batch envelope (the attribute is then the batch's earliest time, ``at <= event.ts``).  Returns None when the attribute may be used
    (it then equals ``event.ts``); raises :class:`~journeyflow.stages.parse.Invalid` with the reason otherwise."""
    value = attributes.get(TS_ATTRIBUTE)
    if value is None:
        raise Invalid(DeadLetterReason.MISSING_TS_ATTRIBUTE,
                      f"no {TS_ATTRIBUTE!r} attribute (event time, epoch ms); the payload's ts is {event.ts}", event.ts)
    if not isinstance(value, str) or not value.isascii() or _INTEGER.fullmatch(value) is None:
        raise Invalid(DeadLetterReason.BAD_TS_ATTRIBUTE,
                      f"{TS_ATTRIBUTE!r} attribute {_show(str(value))} is not an integer epoch-ms string", event.ts)
    digits = len(value.lstrip("-"))
    at = int(value) if digits <= _MAX_DIGITS else None
    latest = config.max_ts
    if config.max_ahead_ms is not None and published_at is not None:
        latest = min(latest, published_at + config.max_ahead_ms)
    if at is None or not config.min_ts <= at <= latest:
        raise Invalid(DeadLetterReason.TS_ATTRIBUTE_OUT_OF_RANGE,
                      f"{TS_ATTRIBUTE!r} attribute {_show(value)} is outside the accepted event times "
                      f"{config.min_ts} .. {latest} (epoch ms){_unit_hint(at, event.ts)}", event.ts)
    if (at > event.ts) if batch_item else (at != event.ts):
        raise Invalid(DeadLetterReason.TS_MISMATCH,
                      f"{TS_ATTRIBUTE!r} attribute {at} is not the payload's ts {event.ts} "
                      f"(differs by {at - event.ts} ms)", event.ts)


def masked_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    """A message's attributes as a dead letter keeps them: at most :data:`MAX_ATTRIBUTES` (sorted by key), keys and
    values truncated to :data:`MAX_ATTRIBUTE_CHARS` and PII-masked (``journeyflow.stages.parse.mask_pii``)."""
    out: dict[str, str] = {}
    for key in sorted(attributes)[:MAX_ATTRIBUTES]:
        value = attributes[key]
        out[mask_pii(str(key)[:MAX_ATTRIBUTE_CHARS])] = mask_pii(str(value)[:MAX_ATTRIBUTE_CHARS])
    return out


def parse_message(parser: Parser, stream: str, data: bytes, source: str, attributes: Mapping[str, str],
                  published_at: int | None = None) -> ParseResult:
    """One input Pub/Sub message of ``stream`` (payload ``data``, read at ``source`` = ``pubsub:<message id>``,
    published at ``published_at`` epoch ms; ``pubsub:<id>#k`` for the k-th item of a batch envelope) → its Event with its field warnings, or a DeadLetter carrying the
    message's (masked) attributes: the payload's reason when the payload cannot be used, else the ``ts``
    attribute's (:func:`check_ts_attribute`, with the parser's bounds).  Never raises for bad input."""
    result = parser.parse_full(stream, data, source, published_at)
    # (the masked attributes are made only for a dead letter: masking runs PII patterns over every key and value)
    if not isinstance(result.result, Event):
        return ParseResult(replace(result.result, attributes=masked_attributes(attributes)))
    try:
        check_ts_attribute(attributes, result.result, parser.config, published_at, batch_item="#" in source)
    except Invalid as e:
        # the whole message goes to dead letter: its field warnings with it (they describe a record not kept)
        return ParseResult(parser.dead_letter(stream, data, source, e.reason, e.detail, e.event_time,
                                              masked_attributes(attributes)))
    return result
