"""Event time of a Segment-Spec message, from its four time fields.

The Segment Spec (segment.com/docs/connections/spec/common/#timestamps; ``src/connections/spec/common.md`` in
segmentio/segment-docs) gives every message up to four ISO-8601 times:

- ``originalTimestamp``: the device clock when the call was made (wrong by the device clock's skew);
- ``sentAt``: the device clock when the batch was sent (only used for the skew correction);
- ``receivedAt``: the server clock on arrival;
- ``timestamp``: when the event happened, *corrected for clock skew*; Segment computes it as
  ``receivedAt - (sentAt - originalTimestamp)`` and server-side libraries / historical imports set it directly.

journeyflow's event time (:func:`event_time`), first that applies:

1. ``timestamp``, when present and a time (what Segment, RudderStack and their warehouses use as event time);
2. ``receivedAt - (sentAt - originalTimestamp)`` when all three are present: the spec's skew correction, done here
   when a source forwards raw client messages without ``timestamp``;
3. ``originalTimestamp`` (no way to correct it);
4. ``receivedAt`` (a server time: when nothing else is known, the arrival).

A device time that contradicts the others is not used (``originalTimestamp`` dropped with a field warning whose
problem starts with :data:`IGNORED`; the event time is ``receivedAt``): ``sentAt`` before ``originalTimestamp``
(the correction would put the event after its arrival -- by years when one device field is from another year), or,
without a usable ``sentAt``, an ``originalTimestamp`` after ``receivedAt``.  An event never happens after the server
received it, and a wrong event time sends a message at the wrong hour.  Likewise a ``timestamp`` or
``originalTimestamp`` outside the accepted event times (a device clock reset to 1970; seconds written where
milliseconds belong) is dropped when the other fields give a time inside them (``event_time``'s ``bounds``); a
message with no such time keeps its out-of-range dead letter.

An empty string is an absent time (as an empty id is an absent id).  With a valid ``timestamp`` the other three are
neither used nor checked (parsing them cost a third of the Segment parse).  Any time field that is present but not
a time -- ``timestamp`` too -- is dropped with a field warning and the rule goes on with the others (a message that
can be understood is kept: ``{"timestamp": "yesterday", "originalTimestamp": ...}`` has the time its device gave);
a message left with no usable time at all is dead-lettered (``bad_timestamp``).  Times are parsed exactly by
:func:`journeyflow.stages.timeparse.parse_ts` (ISO-8601 with a UTC offset, the other spellings with an explicit
zone of :mod:`journeyflow.stages.time_spellings`, or epoch milliseconds), in ms.
"""
from __future__ import annotations

from typing import Any, Mapping

from journeyflow.stages.timeparse import parse_event_ts as parse_ts

__all__ = ["IGNORED", "TIME_FIELDS", "event_time"]

#: Start of a ``dropped`` problem for a time that parses but contradicts the others (the rest is the reason).
IGNORED = "ignored: "
#: The Segment time fields, in the order of the rule above.
TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")


class BadTime(ValueError):
    """The message has no usable time (``field``: ``timestamp``, the event time it lacks)."""

    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field = field


def event_time(msg: Mapping[str, Any],
               bounds: tuple[int, int] | None = None) -> tuple[int, str, list[tuple[str, str]]]:
    """``(event time ms, how, dropped)`` of a Segment message (rule in the module docstring).

    ``how``: ``"timestamp"``, ``"skew_corrected"``, ``"originalTimestamp"`` or ``"receivedAt"``.  ``dropped``:
    ``(field, problem)`` of the optional time fields that are present but not times (or ignored: :data:`IGNORED`).
    ``bounds``: the accepted event times (``ParseConfig.min_ts``, ``max_ts``): a time outside them from
    ``timestamp`` or ``originalTimestamp`` (a device clock reset to 1970, seconds written as milliseconds) is
    dropped when the other fields give a time inside them; else it is returned (the caller's range check
    dead-letters it, as before).  Raises :class:`BadTime`."""
    et, how, dropped = _event_time(msg)
    if bounds is None or bounds[0] <= et <= bounds[1]:
        return et, how, dropped
    rest, extra, h = dict(msg), [], how
    while h != "receivedAt":  # drop the field the time came from, and go on with the others
        field = "timestamp" if h == "timestamp" else "originalTimestamp"
        rest.pop(field, None)
        extra.append((field, IGNORED + "it is outside the accepted event times: the other time fields give the "
                                       "event time"))
        try:
            et2, h, dropped2 = _event_time(rest)
        except BadTime:
            break
        if bounds[0] <= et2 <= bounds[1]:
            return et2, h, extra + dropped2
    return et, how, dropped


def _event_time(msg: Mapping[str, Any]) -> tuple[int, str, list[tuple[str, str]]]:
    """:func:`event_time` without bounds."""
    times: dict[str, int] = {}
    dropped: list[tuple[str, str]] = []
    v = msg.get("timestamp")
    if v is not None and v != "":  # the usual case: the other fields are not consulted (nor checked)
        try:
            return parse_ts(v), "timestamp", dropped
        except (ValueError, OverflowError) as e:
            # the message is still understood when the other fields give its time (the spec's own derivation of
            # timestamp): the bad timestamp is dropped with a field warning, not the message
            dropped.append(("timestamp", str(e)[:200]))
    for f in TIME_FIELDS[1:]:
        v = msg.get(f)
        if v is None or v == "":
            continue
        try:
            times[f] = parse_ts(v)
        except (ValueError, OverflowError) as e:
            dropped.append((f, str(e)[:200]))
    if "originalTimestamp" in times:
        device, arrival = times["originalTimestamp"], times.get("receivedAt")
        if "sentAt" in times and arrival is not None:
            if times["sentAt"] >= device:
                return arrival - (times["sentAt"] - device), "skew_corrected", dropped
            # sent before it happened: the device clock contradicts itself, and the correction would put the
            # event after its arrival
            dropped.append(("originalTimestamp", IGNORED + "it is after sentAt (the device clock contradicts "
                                                           "itself): receivedAt is the event time"))
            return arrival, "receivedAt", dropped
        if arrival is not None and device > arrival:
            dropped.append(("originalTimestamp", IGNORED + "it is after receivedAt (an event does not happen after "
                                                           "its arrival): receivedAt is the event time"))
            return arrival, "receivedAt", dropped
        return device, "originalTimestamp", dropped
    if "receivedAt" in times:
        return times["receivedAt"], "receivedAt", dropped
    raise BadTime("timestamp", "no usable time: none of timestamp, originalTimestamp, receivedAt is an ISO-8601 "
                               "time" + (" (" + "; ".join(f"{f}: {p}" for f, p in dropped)[:200] + ")" if dropped
                                         else ""))


def shift_times(msg: dict, new_ts: int, bounds: tuple[int, int] | None = None) -> dict:
    """A copy of ``msg`` whose event time (:func:`event_time`, within ``bounds`` as the parser reads it) is
    ``new_ts`` (epoch ms): every time field present moves by the same amount, so the skew correction still gives
    ``new_ts`` (used by ``journeyflow publish --shift_to_now``).  Fields that are not times are left as they are;
    ValueError (:class:`BadTime`) when the message has no event time."""
    from datetime import datetime, timezone

    old, _how, _dropped = event_time(msg, bounds)
    delta = new_ts - old
    out = dict(msg)
    for f in TIME_FIELDS:
        v = msg.get(f)
        if v is None:
            continue
        try:
            t = parse_ts(v) + delta
        except (ValueError, OverflowError):
            continue
        out[f] = datetime.fromtimestamp(t / 1000, timezone.utc).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
    return out
