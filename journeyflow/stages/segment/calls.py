"""Which Segment call a message is, its de-duplication id, and the small readers the Segment parser shares.

The Segment HTTP Tracking API takes one call per endpoint -- ``/v1/identify``, ``/v1/track``, ``/v1/page``,
``/v1/screen``, ``/v1/group``, ``/v1/alias`` -- and the endpoint, not the body, says which call it is
(segment.com/docs/connections/sources/catalog/libraries/server/http-api/: the bodies of those endpoints carry no
``type``; only the items of ``/v1/batch`` need one).  Sources that forward such bodies (a proxy, a log of requests,
an export) hand journeyflow messages without ``type``.  :func:`call_of` reads the call from the fields only one call
has (the Segment Spec, segment.com/docs/connections/spec/: ``event`` is track's, ``groupId`` group's, ``previousId``
alias's; ``traits`` are identify's and group's):

=========================================  ==========  ===============================================================
fields present (not null)                  call        why
=========================================  ==========  ===============================================================
``event``                                  track       only track names an event
``groupId`` (``traits`` allowed)           group       only group names a group
``previousId``                             alias       only alias names a previous id
``traits``, none of the three above        identify    identify and group carry traits; no groupId: identify
anything else                              --          ambiguous: a page and a screen have the same fields (``name``,
                                                       ``properties``, ``category``); two calls' fields together
                                                       (``event`` and ``groupId``, ``event`` and ``traits``)
                                                       contradict: ``unknown_type`` dead letter saying which
=========================================  ==========  ===============================================================

An explicit ``type`` always decides (a page call with a stray ``event`` is a page).

``messageId`` is the de-duplication key (segment.com/docs/connections/spec/common/: "a unique identifier for each
message"; the libraries set it, the HTTP API fills it in when a body has none).  A message without one (absent,
null, blank) gets :func:`derived_message_id`: ``c-`` and a keyed hash of the message's canonical JSON (sorted keys,
compact), the form a placeholder id ``"undefined"`` gets (``identity.keys.bounded_event_id``): the same message --
a replay of the same file, a redelivery -- gets the same id and is de-duplicated the same way; messages that differ
in any field (a time, a property) get different ids; the id holds no address (keyed hash).  A ``messageId`` of the
wrong type (an object, a list, a boolean) stays a ``schema_violation``: the producer is broken, not silent.
"""
from __future__ import annotations

import json
import unicodedata
from typing import Any, Callable

import phonenumbers

from journeyflow.stages.json_text import whole_digits

from journeyflow.model.events import ENGAGEMENT_STATUS_TYPES

__all__ = ["call_of", "derived_message_id", "event_name_text", "has_no_message_id"]

_PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
#: the fields only one call has, and that call
_OWN_FIELDS = (("event", "track"), ("groupId", "group"), ("previousId", "alias"))


def call_of(msg: dict) -> tuple[str | None, str]:
    """``(call, "")`` for a message without ``type`` whose fields name one call (table in the module docstring),
    else ``(None, why)``: why it fits no single call (the dead letter's detail)."""
    named = [(f, c) for f, c in _OWN_FIELDS if msg.get(f) is not None]
    traits = msg.get("traits") is not None
    if len(named) > 1:
        return None, "and its fields are of different calls (" + ", ".join(f"{f}: {c}" for f, c in named) + ")"
    if named:
        field, call = named[0]
        if traits and call != "group":
            return None, f"and its fields are of different calls ({field}: {call}, traits: identify or group)"
        return call, ""
    if traits:
        return "identify", ""
    if any(msg.get(f) is not None for f in ("name", "properties", "category")):
        return None, "and its fields do not tell a page or screen call apart (name, properties)"
    return None, "and no field names its call (event, traits, groupId or previousId)"


def has_no_message_id(v: Any) -> bool:
    """True for a ``messageId`` that is absent: missing, null, or a string without an id in it (blank, or only
    invisible characters: ``identity.keys.event_id_text``)."""
    return v is None or isinstance(v, str)


def derived_message_id(msg: dict, digest: Callable[[str, str], str]) -> str:
    """The de-duplication id of a message without ``messageId`` (module docstring): ``c-<keyed hash>`` of its
    canonical JSON (the message as read, ``messageId`` left out; ``digest``: :meth:`Hasher.digest`)."""
    canon = {k: v for k, v in msg.items() if k != "messageId"}
    return "c-" + digest("event", json.dumps(canon, sort_keys=True, ensure_ascii=False, default=str))


# ------------------------------------------------------------------------------------ shared small readers
#: joiners that are part of a word inside a name (Persian and Indic script, emoji sequences): kept inside it
_JOINERS = "\u200c\u200d"
#: no-break spaces (a wiki's or word processor's space): a space
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " "})


def event_name_text(name: str) -> str:
    """An event name (a Segment ``track`` call's ``event``; a name in the journey, attributes and mapping files) as
    one spelling, the one it shows: surrounding whitespace and invisible format characters (Unicode ``Cf``: a
    zero-width space, a byte order mark, a soft hyphen, a word joiner, left-to-right/right-to-left marks) removed --
    the zero-width (non-)joiners only around the name, they join letters inside it --, a no-break space read as a
    space, and Unicode NFC (an ``é`` sent decomposed, ``e`` + U+0301, is the ``é`` a YAML file holds).  A tracking
    plan copied from a wiki or a right-to-left UI carries them unseen; event ids are read so too
    (``identity.keys.event_id_text``).  May be empty (no name)."""
    if name.isascii():
        return name.strip()
    text = "".join(c for c in name if c in _JOINERS or unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFC", text.translate(_NO_BREAK_SPACES)).strip().strip(_JOINERS).strip()


def names_address_status(target: Any) -> bool:
    """True when a mapping target is an engagement record that changes an address's status (unsubscribe,
    complaint, bounce: ``deliverability.ENGAGEMENT_STATUS_TYPES``)."""
    return target is not None and target.stream == "engagement" and target.type in ENGAGEMENT_STATUS_TYPES


def path_text(path: tuple[tuple[str, bool], ...]) -> str:
    """A compiled mapping path as the mapping file writes it (``properties.products[].product_id``)."""
    return ".".join(k + ("[]" if walk else "") for k, walk in path)


def text(v: Any) -> str | None:
    """A non-empty id: strings as given, integers and whole floats up to 2**53 as their digits
    (``stages.json_text.whole_digits``: ``12345.0`` is ``"12345"``, as in the built-in streams); None otherwise
    (booleans, other floats, containers)."""
    if isinstance(v, str):
        return v if v.strip() else None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return whole_digits(v) if v.__class__ is float else None


def locale_region(context: dict | None) -> str | None:
    """The region of the device's ``context.locale`` (``en-GB``, ``de_DE``, ``pt-BR``; BCP 47 as browsers and SDKs
    send it), when it is a region ``phonenumbers`` knows and not the default one's business to decide: else None."""
    locale = (context or {}).get("locale")
    if not isinstance(locale, str) or len(locale) > 35:
        return None
    for part in locale.replace("_", "-").split("-")[1:]:
        if len(part) == 2 and part.isalpha() and part.isascii():
            region = part.upper()
            return region if region in _PHONE_REGIONS else None
    return None


def as_object(v: Any) -> Any:
    """``v``, or ``{}`` for an empty JSON array: PHP's ``json_encode`` writes an empty associative array (an empty
    ``properties``/``traits``/``context`` of a PHP library or backend) as ``[]``; it is an empty object, not a
    malformed message.  An empty or blank string is no value (None: a CSV or warehouse export's null, which was
    dropped with a ``wrong_type`` warning about a field that had none)."""
    if v.__class__ is str and not v.strip():
        return None
    return {} if v == [] and isinstance(v, list) else v
