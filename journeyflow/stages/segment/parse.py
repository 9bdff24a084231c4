"""Segment-Spec messages (the ``track`` input stream) → ``Event`` s, or dead letters with a reason.

Accepted: the calls ``identify``, ``track``, ``page``, ``screen``, ``group`` and ``alias`` as Segment, RudderStack
and Jitsu emit them (segment.com/docs/connections/spec/; the facts used are in ../shared/SEGMENT-SPEC.md of the
project).  :meth:`SegmentParser.parse` is called by :class:`journeyflow.stages.parse.Parser` for the ``track`` stream
after the generic checks (size ≤ ``ParseConfig.max_bytes``, UTF-8, JSON, depth, an object).

Each message becomes ``Event(uid="<stream>/<messageId>", stream, type, ts, ids, attrs, contact)``: ``track/<messageId>``,
or, for a message the mapping turns into a built-in stream's event, that stream's (``web/<messageId>``), so the
same event sent both as a built-in record and as a Segment message with its id as ``messageId`` (a server-side
source forwarding it, a migration from one form to the other) is one event, its second copy a
``duplicate_event`` dead letter (the Spec: ``messageId`` is the de-duplication key):

==========  ==========================  ====================================================================
call        type (stream ``track``)     attrs
==========  ==========================  ====================================================================
track       the ``event`` name, trimmed ``properties``
page        ``Page Viewed``             ``name``, ``category`` (when given), ``properties``
screen      ``Screen Viewed``           ``name`` (when given), ``properties``
identify    ``identify``                ``traits`` (no personal identifiers), ``timezone`` (any call's too)
group       ``group``                   ``groupId``, ``traits`` (the group's), ``user_traits`` (``context.traits``)
alias       ``alias``                   (the link is in ``ids``: ``previousId`` and ``userId``)
==========  ==========================  ====================================================================

On every call but identify/group, ``context.traits`` (minus personal identifiers) is ``attrs["traits"]``; on
identify ``traits`` are merged over ``context.traits``.  A ``group`` call's ``traits`` describe the group (the
account) and are its ``attrs["traits"]``; its ``context.traits`` are the *user's* traits (the spec's "traits to
associate with a non-identify call") and are kept as ``attrs["user_traits"]``, which update the customer's traits
like those of any other call (``stages.attributes``; declared trait types are enforced on them with field warnings
``traits.<name>``, as on every other call).  An event name (or ``Page Viewed`` ...) listed in the mapping
(:mod:`journeyflow.stages.segment.mapping`) becomes an event of that built-in stream and type instead, with the
mapped attributes added; it keeps ``properties``/``traits``.

Identifiers: ``userId`` is the company's own user id, in the CRM id's namespace (``crm:<userId>``, the same key the
web stream's ``user_id`` gives); ``anonymousId`` a device id (``anon:``); ``previousId`` of an alias is read as an
anonymous id (``anon:``: the alias call's purpose is to tie pre-identification activity to the user; a previous
*user* id would be a second ``crm:`` key, which the identity guards refuse anyway); ``traits.email`` /
``traits.phone`` (and ``context.traits.*`` on every call; a phone written nationally is read in the region of the
device's ``context.locale`` -- ``en-GB``: ``020 7946 0958`` is +44 20 7946 0958 -- when it is a number there, else in
``--default_region``) are normalized and HMAC-hashed by
:mod:`journeyflow.stages.identity.keys` into ``email:`` / ``phone:`` keys, the raw normalized address goes to
``contact`` only.  Personal traits never reach ``attrs``: :data:`PERSONAL_TRAITS` are dropped (email and phone live
on as hashed keys; names, address, birthday, username and avatar are not used by any decision).  ``email`` /
``phone`` keys in ``properties`` are dropped likewise.  The ``messageId`` in the event id and every kept string
(``properties``/``traits`` values at any depth, ``name``, ``groupId``, mapped attributes) have any email address or
phone number in them replaced by a keyed token (``Parser._clean``, as the built-in streams' kept strings), so no raw
address reaches state, decisions or tables through them.  Which identify/alias events link identifiers, and the
over-merge guards: :mod:`journeyflow.stages.identity.rules` (stream ``track``: ``identify`` and ``alias``).

Event time: :mod:`journeyflow.stages.segment.times` (``timestamp``, else the skew-corrected ``originalTimestamp``,
else ``originalTimestamp``, else ``receivedAt``).  ``messageId`` is the de-duplication key, in the namespace of
the event's stream (module doc, first paragraph).

Dead letters (first failing check; :class:`~journeyflow.model.reasons.DeadLetterReason`): a message over
:data:`MAX_MESSAGE_BYTES` (32 KB, the Segment API's limit) ``payload_too_large``; an unknown ``type``, or none
and fields that name no single call (an HTTP API body without ``type`` is read as the call its fields name:
:func:`journeyflow.stages.segment.calls.call_of`) ``unknown_type``; a ``messageId`` that is no string or integer, a
``track`` without ``event``, a ``group`` without ``groupId`` ``schema_violation`` (a message without ``messageId``
gets a deterministic one: :func:`~journeyflow.stages.segment.calls.derived_message_id`); no usable time ``bad_timestamp``; out of
range ``timestamp_out_of_range``; neither ``userId`` nor ``anonymousId`` (the spec requires one on every call; an
email alone is not enough), an alias without ``previousId`` and ``userId`` ``missing_identifier``; a ``userId`` /
``anonymousId`` that is present but unusable (an object, blank) with no other of the two ``invalid_identifier``.
An empty array where the spec has an object (``"properties": []``, as PHP encodes an empty one) is an empty
object.  Optional fields that are bad (``properties``, identify/group ``traits``, ``context`` or ``context.traits``
not an object: a string, a list, a number; an invalid email, a bad ``sentAt`` ...) are dropped with a field
warning and the message kept (an identify with ``"traits": "x"`` still links its ids; field names:
:data:`journeyflow.stages.fields.OPTIONAL_FIELDS` ``["track"]``).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import SEGMENT_STREAM, Event
from journeyflow.model.reasons import DeadLetterReason as D
from journeyflow.model.reasons import FieldWarningReason as W
from journeyflow.stages import fields as _fields
from journeyflow.stages.identity.keys import (MAX_ID_CHARS, InvalidIdentifier, anon_key, bounded_event_id, crm_key,
                                              event_id_text, is_placeholder)
from journeyflow.stages.parse_fast import cannot_hold_pii
from journeyflow.stages.segment.calls import as_object as _object
from journeyflow.stages.segment.calls import call_of, derived_message_id, event_name_text, has_no_message_id
from journeyflow.stages.segment.calls import locale_region as _locale_region
from journeyflow.stages.segment.calls import names_address_status as _names_address_status
from journeyflow.stages.segment.calls import path_text as _path_text
from journeyflow.stages.segment.calls import text as _text
from journeyflow.stages.segment.mapping import compiled_mapping, convert, lookup, lookup_per_item
from journeyflow.stages.segment.optouts import (contained_opt_outs, folded_name, folded_opt_outs,
                                                is_opt_out, named_channel_too, traits_opt_out)
from journeyflow.stages.segment.profile import PERSONAL_TRAITS, profile_fields, reserved_spellings, spelt
from journeyflow.stages.segment.times import IGNORED, BadTime, event_time
from journeyflow.stages.spellings import (ALSO_FIELD, BAD_FIELD, also_named, channel_symbol, clean_scalar, plus_bases,
                                          several_addresses)

if TYPE_CHECKING:
    from journeyflow.stages.parse import Parser

__all__ = ["CALL_TYPES", "MAX_MESSAGE_BYTES", "PERSONAL_TRAITS", "SegmentParser"]

#: Largest Segment message accepted, bytes of its JSON (the Segment tracking API's documented 32 KB limit).
MAX_MESSAGE_BYTES = 32 * 1024
#: Event type of each call that has no name of its own (``track`` uses its ``event`` name).
CALL_TYPES = {"page": "Page Viewed", "screen": "Screen Viewed", "identify": "identify", "group": "group",
              "alias": "alias"}
_CALLS = frozenset(CALL_TYPES) | {"track"}
#: Traits dropped from ``attrs["traits"]``: :data:`~journeyflow.stages.segment.profile.PERSONAL_TRAITS` (in any
#: spelling: ``segment.profile.reserved_spellings``).
_PII_PROPERTIES = frozenset({"email", "phone"})
_ID_CACHE = 1 << 16  # entries of the per-parser cache of id keys
#: object fields an export may write as "" for none (calls.as_object): read as absent by every part of the parse
_OBJECT_FIELDS = ("properties", "traits", "context")
#: the time field a dead letter for an out-of-range time quotes, per way the event time was found (times.event_time)
_TIME_SOURCE = {"skew_corrected": "originalTimestamp"}


class SegmentParser:
    """Parses Segment messages with a :class:`~journeyflow.stages.parse.Parser`'s hasher and time range, and the
    mapping of ``ParseConfig.segment_mapping`` (None: the packaged default)."""

    def __init__(self, parser: "Parser"):
        self.parser = parser
        cfg = parser.config
        self.mapping = compiled_mapping(cfg.segment_mapping, cfg.segment_mapping_source)
        self._opt_outs = folded_opt_outs(self.mapping)  # opt-outs in other spellings of their names
        self._contained = contained_opt_outs(self.mapping)  # ... and names holding an opt-out's name
        # (field, id text) -> its key, or the (kind, reason) of its refusal: a user's messages repeat their ids
        self._id_keys: dict[tuple[str, str], str | tuple[str, str]] = {}

    def parse(self, msg: dict, size: int | None, received_at: int | None) -> tuple[Event, list]:
        """One decoded message (``size``: its JSON's length, measured when None) → ``(Event, problems)``;
        raises :class:`~journeyflow.stages.parse.Invalid` (rules in the module docstring)."""
        from journeyflow.stages.parse import Invalid

        if size is None:
            size = len(json.dumps(msg, separators=(",", ":"), default=str))
        if size > MAX_MESSAGE_BYTES:
            raise Invalid(D.PAYLOAD_TOO_LARGE, f"Segment message is {size} bytes, limit {MAX_MESSAGE_BYTES}")
        problems: list = []
        if any(msg.get(f).__class__ is str and not msg[f].strip() for f in _OBJECT_FIELDS):  # "" is no value
            msg = {**msg, **{f: None for f in _OBJECT_FIELDS if msg.get(f).__class__ is str and not msg[f].strip()}}
        try:
            et, how, dropped = event_time(msg, (self.parser.config.min_ts, self.parser.config.max_ts))
            bad_time = None
        except BadTime as e:
            et, how, dropped, bad_time = None, "", [], e
        call, why = msg.get("type"), ""
        if isinstance(call, str) and call not in _CALLS:
            call = call.strip().lower()  # "Track", " identify": the call in a source's spelling (fields.fold_symbol)
        if call is None and "batch" not in msg:  # an HTTP API body (/v1/track ...): its fields name it (calls.call_of)
            call, why = call_of(msg)
        if not isinstance(call, str) or call not in _CALLS:
            what = f"has no type {why}".strip() if call is None else \
                f"type {str(call)[:40]!r} is not one of {', '.join(sorted(_CALLS))}"
            if call is None and "batch" in msg:  # an envelope whose batch is empty or no array (split_batch passed
                got = type(msg["batch"]).__name__  # it on: one record read, one dead letter)
                what = (f"has no type (a batch envelope's batch must be an array of messages, got {got})" if
                        msg["batch"] != [] else "has no type (an empty batch envelope: its batch holds no messages)")
            raise Invalid(D.UNKNOWN_TYPE, f"Segment message {what}", et)
        mid = _text(msg.get("messageId"))
        if mid is not None:
            mid = event_id_text(mid) or None  # the de-duplication key: one spelling (keys.event_id_text)
        if mid is None and has_no_message_id(msg.get("messageId")):  # none given (blank): the message's own (calls)
            mid = derived_message_id(msg, self.parser.hasher.digest)
        if mid is None:
            raise Invalid(D.SCHEMA_VIOLATION, "Segment message's messageId is not a string or an integer", et)
        if call == "track":
            name = msg.get("event")
            name = event_name_text(name) if isinstance(name, str) else None
            if not name:
                raise Invalid(D.SCHEMA_VIOLATION, "track call without an event name (`event`)", et)
            # "Order Completed " (a tracking plan's stray space, or a zero-width one: calls.event_name_text) is
            # Order Completed; an address in the name ("Invite Sent to ann@x.com") is a keyed token, as in every
            # kept string
            etype = self._clean(name)
        else:
            etype = CALL_TYPES[call]
        # properties and traits are optional: one that is no object (a string, a list, a number) is dropped with a
        # field warning and the message kept (an identify with `traits: "x"` still links its ids); the mapping
        # then reads the message without it (warnings are added after the required checks below)
        bad_parts: list[tuple[str, Any]] = []
        props = _object(msg.get("properties"))
        if props is not None and not isinstance(props, dict):
            bad_parts.append(("properties", props))
            props = None
        own_traits = _object(msg.get("traits")) if call in ("identify", "group") else None
        if own_traits is not None and not isinstance(own_traits, dict):
            bad_parts.append(("traits", own_traits))
            own_traits = None
        group_id = _text(msg.get("groupId")) if call == "group" else None
        if call == "group" and group_id is None:
            raise Invalid(D.SCHEMA_VIOLATION, "group call without a groupId", et)
        if bad_time is not None:
            raise Invalid(D.BAD_TIMESTAMP, str(bad_time), et)
        for f, why in dropped:  # not a time, or a time the others contradict (segment.times.IGNORED)
            problems.append((f, W.WRONG_TYPE, "dropped", why[len(IGNORED):] if why.startswith(IGNORED) else
                             f"not a time: {why}", _fields.warning_value(f, msg.get(f))))
        for f, v in bad_parts:
            problems.append((f, W.WRONG_TYPE, "dropped", f"expected an object, got {type(v).__name__}",
                             _fields.warning_value(f, v)))
        self.parser._check_range(et, msg.get(_TIME_SOURCE.get(how, how)), received_at)
        context = _object(msg.get("context"))
        if context is not None and not isinstance(context, dict):
            problems.append(("context", W.WRONG_TYPE, "dropped", f"expected an object, got {type(context).__name__}",
                             _fields.warning_value("context", context)))
            context = None
            bad_parts.append(("context", None))
        ctx_traits = _object((context or {}).get("traits"))
        if ctx_traits is not None and not isinstance(ctx_traits, dict):
            problems.append(("context.traits", W.WRONG_TYPE, "dropped",
                             f"expected an object, got {type(ctx_traits).__name__}", None))
            ctx_traits = None
            context = {k: v for k, v in context.items() if k != "traits"}
            bad_parts.append(("context", context))
        if bad_parts:  # the mapping reads the message as kept: without the parts dropped
            msg = {**msg, **{f: context if f == "context" else None for f, _v in bad_parts}}
        user_traits, second = reserved_spellings(dict(ctx_traits or {}))  # (Email, Phone Number: email, phone)
        if call in ("identify", "group") and own_traits:
            own_traits, more = reserved_spellings(own_traits)
            second += more if call == "identify" else []
        also = []  # a second address an opt-out names (properties beside a usable trait): both are blocked
        if call == "track" and _names_address_status(self.mapping.get(etype)):  # so are those of a trait's list
            user_traits = several_addresses(user_traits, self.parser.hasher, self.parser.config.default_region)
            also += user_traits.pop(ALSO_FIELD, [])
            problems += [(f"traits.{f}", *rest) for f, *rest in user_traits.pop(BAD_FIELD, [])]
        if call == "identify":
            user_traits.update(own_traits or {})
        status = call == "track" and _names_address_status(self._target(etype))
        if status:  # (an ESP's "Email" property: the opt-out's address, read as email)
            props, more = reserved_spellings(props) if props else (props, [])
            also += self._second_addresses(second + more, context)
        if status and props:
            # an email tool's opt-out or bounce names its address in the properties when it has no user traits, or
            # only an unusable one ("{{email}}": a template left unrendered) -- fail safe: the address, not only the
            # user id, is opted out, every holder of it is blocked
            for kind in ("email", "phone"):
                own = user_traits.get(kind)
                if isinstance(props.get(kind), str) and (not own or not self._usable(kind, own, context)):
                    if own:
                        problems.append((f"traits.{kind}", W.INVALID_IDENTIFIER, "dropped",
                                         f"not a usable {kind}: the {kind} in properties applies", None))
                    user_traits[kind] = props[kind]
                elif isinstance(props.get(kind), str) and self._usable(kind, props[kind], context):
                    region = _locale_region(context) if kind == "phone" else None
                    named: dict[str, str] = {}
                    also.append(self._phone_key(props[kind], region, named) if region else
                                self.parser._key(kind, props[kind], named))
                    also += plus_bases(self.parser.hasher, [named.get("email")])  # (a tagged address: its mailbox)
        ids, contact = self._identifiers(call, msg, user_traits, et, problems, _locale_region(context))
        attrs: dict[str, Any] = {}
        clean = self._clean_deep
        if props is not None and call in ("track", "page", "screen"):
            attrs["properties"] = clean({k: v for k, v in props.items() if k not in _PII_PROPERTIES})
        if call == "group":
            attrs["groupId"] = self._clean(group_id)
            kept = _public(own_traits or {})
            users = _public(user_traits)
            if users:  # the user's own traits (context.traits), not the group's
                attrs["user_traits"] = self._declared_traits(clean(users), problems)
                if not attrs["user_traits"]:
                    del attrs["user_traits"]
        else:
            kept = _public(user_traits)
        if kept:
            attrs["traits"] = clean(kept)
        for f in ("name", "category")[:{"page": 2, "screen": 1}.get(call, 0)]:  # the Spec: page, screen
            v = msg.get(f)
            if isinstance(v, str) and v:
                attrs[f] = self._clean(v)
            elif v is not None and v != "":
                problems.append((f, W.WRONG_TYPE, "dropped", f"expected a string, got {type(v).__name__}",
                                 _fields.warning_value(f, v)))
        self._timezone(context, own_traits or {} if call == "identify" else {}, attrs, problems)  # any call's device
        if call == "identify":  # zone (context.timezone); an identify's traits.timezone (a group's is the group's)
            attrs.update(profile_fields(attrs.get("traits") or {}, problems))  # lifecycle stage, owner (profile)
        stream = SEGMENT_STREAM
        target = self._target(etype) if call in ("track", "page", "screen") else traits_opt_out(
            user_traits if call == "identify" else None, self._contained)  # (unsubscribed: true: an opt-out)
        if target is not None:
            stream, etype = target.stream, target.type
            self._mapped_attrs(target, msg, attrs, et, problems)
        if len(mid) > MAX_ID_CHARS or is_placeholder(mid):  # a long or placeholder messageId: its stand-in
            mid = bounded_event_id(mid, msg, self.parser.hasher.digest)
        also += plus_bases(self.parser.hasher, [contact.get("email")])  # (an opt-out's tagged address: its mailbox)
        return Event(uid=f"{stream}/{self._clean(mid)}", stream=stream, type=etype, ts=et, ids=ids,
                     attrs=attrs, contact=also_named(ids, contact, etype, also)), problems

    def opt_out_event(self, names: list) -> str | None:
        """Of the values of an ``event`` key written more than once (``stages.duplicate_keys``), the first whose
        mapping target changes an address's status (an unsubscribe, complaint, bounce), else None (the last)."""
        return next((n for n in names if isinstance(n, str) and
                     _names_address_status(self._target(event_name_text(n)))), None)

    def _target(self, name: str) -> Any:
        """The mapping target of an event name: the name as the mapping writes it, else an opt-out whose name it
        is in another case or with ``_`` / ``-`` for spaces, else an opt-out whose name's words it holds
        (``segment.optouts``; None: not mapped)."""
        target = self.mapping.get(name)
        if target is None and self._contained:
            target = self._opt_outs.get(folded_name(name)) or self._contained.get(name)
        return target

    # ------------------------------------------------------------------------------------------- parts
    def _identifiers(self, call: str, msg: dict, traits: dict, et: int, problems: list,
                     region: str | None = None) -> tuple[tuple, dict]:
        from journeyflow.stages.parse import Invalid

        contact: dict[str, str] = {}
        keys: list[str] = []
        dropped: list[str] = []
        fields = [("userId", msg.get("userId"), crm_key), ("anonymousId", msg.get("anonymousId"), anon_key)]
        if call == "alias":
            if _text(msg.get("previousId")) is None or _text(msg.get("userId")) is None:
                raise Invalid(D.MISSING_IDENTIFIER, "alias call needs both previousId and userId", et)
            fields.append(("previousId", msg.get("previousId"), anon_key))
        for name, v, key in fields:
            if v is None or v == "":
                continue
            text = _text(v)
            try:
                if text is None:  # a blank string is empty, not of the wrong type
                    raise InvalidIdentifier(name, f"{name} is empty" if isinstance(v, str) else
                                            f"{name} must be a string or an integer")
                # an id that is an address is hashed as one; one holding an address is refused (Parser._id_key)
                keys.append(self._id_key(name, text, key, contact))
            except InvalidIdentifier as e:
                problems.append((name, W.INVALID_IDENTIFIER, "dropped", str(e), _fields.warning_value(name, v)))
                dropped.append(str(e))
        if not keys:  # the Segment Spec: every call needs a userId or an anonymousId
            if dropped:
                raise Invalid(D.INVALID_IDENTIFIER, "Segment message: neither its userId nor its anonymousId is "
                              "usable (" + "; ".join(dropped) + ")", et)
            raise Invalid(D.MISSING_IDENTIFIER, "Segment message has neither a userId nor an anonymousId", et)
        for kind in ("email", "phone"):
            v = traits.get(kind)
            if v is None or v == "":
                continue
            try:
                if kind == "phone" and region is not None:
                    keys.append(self._phone_key(v, region, contact))
                else:
                    keys.append(self.parser._key(kind, v, contact))
            except InvalidIdentifier as e:
                problems.append((f"traits.{kind}", W.INVALID_IDENTIFIER, "dropped", str(e), None))
                dropped.append(str(e))
        return tuple(sorted(set(keys))), contact

    def _second_addresses(self, pairs: list, context: dict | None) -> list[str]:
        """The keys of an opt-out's second addresses (``reserved_spellings``: ``Email`` beside ``email``), usable ones
        only: fail safe, an opt-out blocks every address it names."""
        region = _locale_region(context)
        return [self._phone_key(v, region, {}) if kind == "phone" and region else self.parser._key(kind, v, {})
                for kind, v in pairs if self._usable(kind, v, context)]

    def _usable(self, kind: str, value: Any, context: dict | None) -> bool:
        """True when ``value`` of a user trait ``email`` / ``phone`` gives a key (as :meth:`_identifiers` reads it)."""
        try:
            region = _locale_region(context) if kind == "phone" else None
            self._phone_key(value, region, {}) if region is not None else self.parser._key(kind, value, {})
        except InvalidIdentifier:
            return False
        return True

    def _id_key(self, name: str, text: str, key: Any, contact: dict[str, str] | None = None) -> str:
        """``Parser._id_key(name, key(text))``, cached per (field, text) (bounded: cleared when full); raises the
        same :class:`InvalidIdentifier`; a text longer than ``keys.MAX_ID_CHARS`` is not cached (it is refused, or
        padding: the cache must not hold megabytes of such texts).  ``contact``: as ``Parser._id_key`` (the mailbox of
        an id that is a tagged address; computed again, uncached, for the rare id that is an address)."""
        if len(text) > MAX_ID_CHARS:
            return self.parser._id_key(name, key(text), contact)
        got = self._id_keys.get((name, text))
        if got is None:
            try:
                got = self.parser._id_key(name, key(text))
            except InvalidIdentifier as e:
                got = (e.kind, e.reason)
            if len(self._id_keys) >= _ID_CACHE:
                self._id_keys.clear()
            self._id_keys[(name, text)] = got
        if got.__class__ is tuple:
            raise InvalidIdentifier(*got)
        if contact is not None and got.startswith("email:"):
            return self.parser._id_key(name, key(text), contact)
        return got

    def _phone_key(self, value: Any, region: str, contact: dict) -> str:
        """The key of a phone written nationally on a device whose ``context.locale`` names ``region`` (``020 7946
        0958`` with ``en-GB``): that region's number when it is one, else the number in ``--default_region``
        (``Parser._key``); a number with ``+CC`` is the same in any region."""
        try:
            key, e164 = self.parser.hasher.phone(value, region)
        except InvalidIdentifier:
            return self.parser._key("phone", value, contact)
        contact["phone"] = e164
        contact["phone_key"] = key
        return key

    def _timezone(self, context: dict | None, traits: dict, attrs: dict, problems: list) -> None:
        name = spelt(traits, "timezone")  # (timeZone, time_zone, "Time Zone": CRM exports' spellings)
        for field, v in (("context.timezone", (context or {}).get("timezone")), (f"traits.{name}", traits.get(name))):
            if v is None or v == "":
                continue
            verdict = _fields.normalize_timezone(v)
            if verdict is None:
                attrs["timezone"] = v
                return
            if verdict.value is not _fields.DROP:
                attrs["timezone"] = verdict.value
            if verdict.reason is not None:
                problems.append((field, verdict.reason, verdict.action, verdict.detail,
                                 _fields.warning_value(field, v)))
            if "timezone" in attrs:
                return

    def _mapped_attrs(self, target, msg: dict, attrs: dict, et: int, problems: list) -> None:
        from journeyflow.stages.parse import Invalid

        for rule in target.attrs:
            if rule.has_value:
                attrs[rule.name] = rule.value
                if rule.name == "channel" and is_opt_out(target):
                    attrs[rule.name] = named_channel_too(target, rule.value, msg, self.parser._enums[
                        target.stream]["channel"], exact=msg.get("event") in self.mapping)
                continue
            # the first path whose value converts wins; a value found on the way that does not convert is
            # reported (the field is the mapping's path it was read from, properties.product_id: a path of the
            # mapping file, never the message's free text) and the next path is tried (product_id, then sku)
            value, bad = None, []
            # products[].product_id, else products[].sku: per product (mapping.lookup_per_item)
            per_item = lookup_per_item(msg, rule.paths) if rule.as_ in ("string", "strings") else None
            for path in rule.paths if per_item is None else rule.paths[:1]:
                found = lookup(msg, path) if per_item is None else per_item
                if found is None or found == [] or found == "":
                    continue
                if rule.name == "channel" and isinstance(found, list) and target.stream in ("consent", "engagement"):
                    found = ",".join(map(str, found))  # every channel listed (spellings.channel_symbol), not the first
                converted, problem = convert(found, rule.as_)
                if problem is not None:
                    bad.append((_path_text(path), problem))
                if converted is not None:
                    value = converted
                    break
            if (value is None and not bad and rule.name == "channel" and target.stream in ("consent", "engagement")
                    and channel_symbol(target.stream, target.type, "", frozenset()) == "all"):
                value = "all"  # an opt-out naming no channel is of every channel, as the built-in streams read it
            if value is None and rule.required:
                if bad:
                    raise Invalid(D.SCHEMA_VIOLATION, f"{target.stream} {target.type}: {rule.name}: {bad[0][1]}", et)
                raise Invalid(D.SCHEMA_VIOLATION, f"{target.stream} {target.type} needs {rule.name} (from "
                              + ", ".join(_path_text(p) for p in rule.paths) + ")", et)
            for where, problem in bad:
                problems.append((where, W.WRONG_TYPE, "dropped", f"{rule.name}: {problem}", None))
            if value is None:
                continue
            if rule.name == "channel" and target.stream in ("consent", "engagement"):
                # a channel read from the message, as the built-in streams read theirs: "SMS" or "text" is sms (kept
                # as written it matched no send: the opt-out blocked nothing); not a channel: a dead letter
                symbols = self.parser._enums[target.stream]["channel"]
                channel = channel_symbol(target.stream, target.type, value, symbols)
                if channel is None:
                    raise Invalid(D.SCHEMA_VIOLATION, f"{target.stream} {target.type}: channel {str(value)[:40]!r} "
                                  f"is not one of {', '.join(c for c in CHANNELS if c in symbols)}", et)
                value = channel
            attrs[rule.name] = self._clean_deep(value)

    def _clean(self, text: str) -> str:
        """``text`` with any email address or phone number replaced by a keyed token (``Parser._clean``); the
        common plain word is returned at once (``parse_fast.cannot_hold_pii``)."""
        return text if cannot_hold_pii(text, True) else self.parser._clean(text)

    def _clean_deep(self, value: Any) -> Any:
        """``value`` (decoded JSON) with :meth:`_clean` applied to every string in it, keys too (a map keyed by
        address, ``{"invited": {"bob@x.com": true}}``, would carry them into state and tables); property and trait
        values and keys recur (SKUs, names, currencies): through the parser's bounded cache of cleaned strings."""
        if isinstance(value, str):
            return self.parser._fast.clean_cached(value)
        if isinstance(value, dict):
            c = self.parser._fast.clean_cached
            return {c(k): clean_scalar(c, k, v) if v.__class__ is int else (
                [clean_scalar(c, k, x) if x.__class__ is int else self._clean_deep(x) for x in v]
                if v.__class__ is list else self._clean_deep(v)) for k, v in value.items()}  # "phones": [4155550134]
        if isinstance(value, list):
            return [self._clean_deep(v) for v in value]
        return value

    def _declared_traits(self, traits: dict, problems: list) -> dict:
        """``traits`` (a group call's user traits) without the declared traits whose values do not fit their
        declared types, each dropped with a ``traits.<name>`` warning: the check ``DeclaredTypes.check`` makes on
        ``attrs["traits"]`` of every other call."""
        declared = self.parser.config.declared_types
        if declared is None or not traits:
            return traits
        from journeyflow.stages.parse import _timestamp_names, epoch_ms_values
        traits = dict(epoch_ms_values(traits, _timestamp_names(declared)[1]))
        probe = Event(uid="", stream=SEGMENT_STREAM, type="", ts=0, ids=(), attrs={"traits": traits})
        return dict(declared.check(probe, problems).attrs.get("traits") or {})


def _public(traits: dict) -> dict:
    return {k: v for k, v in traits.items() if k not in PERSONAL_TRAITS}
