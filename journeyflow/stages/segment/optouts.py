"""Segment-mapped opt-outs read fail safe (:mod:`journeyflow.stages.segment.parse`).

Compliance fails safe: an opt-out the message states is never lost nor narrowed by the way the mapping names it.

* **Other spellings of an opt-out's name.**  Event names are matched as the mapping writes them (the Segment Spec's
  ``event`` is case-sensitive), but an opt-out -- a mapped engagement ``unsubscribed`` / ``complained`` or a
  consent ``consent_revoked`` -- is also found in another case or with ``_`` / ``-`` for its spaces:
  ``unsubscribed``, ``UNSUBSCRIBED``, ``email_marked_as_spam`` (tools and warehouses that write names their own
  way).  It was an unmapped ``track`` event, and the address stayed open.  Other events stay matched exactly.
* **A channel the message names beside the mapped one.**  The default mapping fixes ``Unsubscribed``'s channel to
  email (the spec's email events); an SMS tool's ``Unsubscribed`` with ``properties.channel: "sms"`` opted out of
  email only.  Now both channels are read together as the built-in streams read several
  (``spellings.channel_symbol``: email and sms are every channel); a value that names no channel (``"web"``)
  leaves the mapped one.  An email-mapped opt-out whose message names a phone and no email address (an SMS tool
  reporting a STOP as ``Unsubscribed``, identified by ``traits.phone``) opts out of sms too: the number is the only
  address it names, and email alone left the texts going (qa12a).
* **A name that contains an opt-out's name** (qa10g's fail-safe reading).  ``Unsubscribed From Digest Preview``,
  ``SMS Unsubscribed``, ``Newsletter Unsubscribed``, ``UnsubscribedFromDigest``: a name that is not mapped itself
  but holds a mapped opt-out's name as whole words (case, separators and camelCase aside) is that opt-out: the
  person said they unsubscribed, and journeyflow cannot scope an opt-out to one list or digest, so reading it as
  no opt-out kept sending to them (an unmapped ``track`` event).  It is **not** an opt-out of everything: it opts
  out of the channel the mapping fixes (email for ``Unsubscribed``), plus a channel a word of the name names
  (``SMS Unsubscribed``: sms too; ``Unsubscribed From All``: every channel, as ``channel: "all"`` reads) or
  ``properties.channel`` names.  Whole words only: ``Resubscribed`` or ``Unsubscribe Link Clicked`` are not
  ``Unsubscribed``.  A name the mapping maps itself is read as mapped (map ``Unsubscribed From Digest Preview``
  to another event to read it otherwise); the words of an exactly mapped name never widen its channel.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from journeyflow.stages.spellings import CHANNEL_SYNONYMS, channel_symbol

__all__ = ["ContainedOptOuts", "contained_opt_outs", "folded_name", "folded_opt_outs", "is_opt_out",
           "named_channel_too", "other_channels", "said_in_words", "traits_opt_out"]

# words of a name: camelCase humps, upper-case runs (SMSUnsubscribed: SMS, Unsubscribed), digits, other letters
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^\W\d_A-Za-z]+")


def is_opt_out(target: Any) -> bool:
    """True when a mapping target opts an address or a person out: an engagement unsubscribe or complaint, a
    consent revoke."""
    return target is not None and ((target.stream == "engagement" and target.type in ("unsubscribed", "complained"))
                                   or (target.stream == "consent" and target.type == "consent_revoked"))


def folded_name(name: str) -> str:
    """An event name without case, spaces, underscores and hyphens: ``email_marked_as_spam`` is ``Email Marked as
    Spam``."""
    return "".join(c for c in name.casefold() if c not in " _-\t")


def folded_opt_outs(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``{folded name: target}`` of the mapping's opt-outs whose folded name no other mapped event shares."""
    folded: dict[str, list] = {}
    for name, target in mapping.items():
        folded.setdefault(folded_name(name), []).append(target)
    return {k: ts[0] for k, ts in folded.items() if len(ts) == 1 and is_opt_out(ts[0])}


def words(name: str) -> tuple[str, ...]:
    """The case-folded words of an event name (``SMSUnsubscribed`` -> ``("sms", "unsubscribed")``)."""
    return tuple(w.casefold() for w in _WORD.findall(name))


class ContainedOptOuts:
    """The mapping's opt-outs by the words of their names, the longest first; :meth:`get` reads a name (cached:
    a source writes the same few names again and again)."""

    __slots__ = ("table", "kinds", "_seen")

    def __init__(self, table: tuple, kinds: Mapping[str, Any] | None = None):
        self.table = table
        self.kinds = dict(kinds or {})  # an opt-out target per kind (unsubscribed, complained): said_in_words
        self._seen: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self.table)

    def get(self, name: str) -> Any:
        """The target of the first opt-out whose words occur in ``name``'s words, in a row; None when there is
        none (module docstring: a name that contains an opt-out's name)."""
        if not isinstance(name, str):
            return None
        if name in self._seen:
            return self._seen[name]
        have, found = words(name), None
        for ws, target in self.table:
            n = len(ws)
            if any(have[i:i + n] == ws for i in range(len(have) - n + 1)):
                found = target
                break
        if found is None and self.kinds:
            found = said_in_words(name, self.kinds)
        if len(self._seen) >= 4096:
            self._seen.clear()
        self._seen[name] = found
        return found


def contained_opt_outs(mapping: Mapping[str, Any]) -> ContainedOptOuts:
    """The mapping's opt-outs (:class:`ContainedOptOuts`) to find in names that contain theirs, and in names that
    spell their channel word for another channel (:func:`other_channels`)."""
    found = [(words(name), t) for name, t in mapping.items() if is_opt_out(t)]
    kinds: dict[str, Any] = {}
    for _ws, t in sorted(found, key=lambda wt: wt[1].stream != "engagement"):  # (engagement's first)
        kinds.setdefault("complained" if t.type == "complained" else "unsubscribed", t)
    found += other_channels(found)
    return ContainedOptOuts(tuple(sorted(((w, t) for w, t in found if w), key=lambda wt: -len(wt[0]))), kinds)


def said_in_words(name: str, kinds: Mapping[str, Any]) -> Any:
    """For a name that holds no mapped opt-out's words but says an opt-out in other words (``Opted Out``,
    ``SMS Opt Out``, Iterable's ``emailUnSubscribe``, ``Marked Email as Spam``: ``stages.opt_out_names``, as the
    built-in engagement stream reads its ``type``), the mapping's opt-out of that kind (else its other one), of
    the channels the name's words name instead of the one the mapping fixes when they name any (as
    :func:`other_channels` reads ``SMS Marked as Spam``); None when the name says none."""
    from journeyflow.stages.opt_out_names import read_opt_out_name
    from journeyflow.stages.spellings import _several_channels

    said = read_opt_out_name(name)
    target = None if said is None else kinds.get(said.kind) or next(iter(kinds.values()))
    if target is None or not said.channels:
        return target
    scope = said.channels[0] if len(said.channels) == 1 else _several_channels(",".join(said.channels))
    fixed = next((a for a in target.attrs if a.name == "channel" and a.has_value), None)
    if fixed is None or scope is None:
        return target
    return target._replace(attrs=tuple(a._replace(value=scope) if a is fixed else a for a in target.attrs))


#: The words that name the channels an engagement opt-out may name instead of the mapped one (``sms``: ``SMS``,
#: ``Text``, ``Text Message``, ``MMS`` ...; ``push``: ``Push``, ``Push Notification`` ...: ``CHANNEL_SYNONYMS``).
_CHANNEL_WORDS = tuple((tuple(w.split("_")), ch) for ch in ("sms", "push") for w in sorted(
    {ch, *(k for k, v in CHANNEL_SYNONYMS.items() if v == ch)}))


def other_channels(found: list[tuple[tuple[str, ...], Any]]) -> list[tuple[tuple[str, ...], Any]]:
    """For each opt-out ``(words, target)`` whose name begins with the word of the channel its mapping fixes
    (``Email Marked as Spam``: email), that opt-out of each other channel, named by that channel's words instead
    (``SMS Marked as Spam``, ``Text Marked as Spam``, ``Push Notification Marked as Spam``): its target with the
    channel replaced (qa15b).  Before, an SMS tool's ``SMS Marked as Spam`` was an unmapped track event and the
    texts went on; a complaint about a text is one of texts, not of email.  Names the mapping has are left out."""
    have = {ws for ws, _t in found}
    out = []
    for ws, t in found:
        fixed = next((a for a in t.attrs if a.name == "channel" and a.has_value and isinstance(a.value, str)), None)
        if fixed is None or not ws or CHANNEL_SYNONYMS.get(ws[0], ws[0]) != fixed.value:
            continue
        for spelt, ch in _CHANNEL_WORDS:
            name = spelt + ws[1:]
            if ch != fixed.value and name not in have:
                out.append((name, t._replace(attrs=tuple(a._replace(value=ch) if a is fixed else a
                                                         for a in t.attrs))))
    return out


def named_channel_too(target: Any, fixed: Any, msg: Mapping[str, Any], symbols: frozenset[str],
                      exact: bool = True) -> Any:
    """The channel of an opt-out whose mapping fixes it to ``fixed`` when the message's ``properties.channel`` --
    or, for a name that is not mapped as it is written (``exact`` False), a word of its ``event`` -- names another:
    all of them (see the module docstring); else ``fixed``.  ``symbols``: the channels of the target stream."""
    if not isinstance(fixed, str):
        return fixed
    props = msg.get("properties")
    named = props.get("channel") if isinstance(props, dict) else None
    texts = [] if named is None or named == "" or named == [] else [
        ",".join(map(str, named)) if isinstance(named, list) else named]
    event = msg.get("event")
    if not exact and isinstance(event, str):
        texts += [w for w in words(event) if channel_symbol(target.stream, target.type, w, symbols) is not None]
    if fixed == "email" and _names_phone_only(msg):
        texts.append("sms")  # the only address it names is a number: its texts too (fail safe)
    got = fixed
    for text in texts:
        alone = channel_symbol(target.stream, target.type, text, symbols)
        if alone is not None and alone != got:
            got = channel_symbol(target.stream, target.type, f"{got},{alone}", symbols) or got
    return got


def _names_phone_only(msg: Mapping[str, Any]) -> bool:
    """True when a message names a phone (``context.traits`` / ``traits`` / ``properties``) and no email: an email
    tool's ``Unsubscribed`` that only a number identifies (an SMS tool reporting a STOP as the spec's email event)."""
    found = set()
    context = msg.get("context")
    for part in (context.get("traits") if isinstance(context, dict) else None, msg.get("traits"), msg.get("properties")):
        if isinstance(part, dict):
            found.update(k for k in ("email", "phone") if part.get(k) not in (None, "", []))
    return found == {"phone"}


def traits_opt_out(traits: Any, contained: ContainedOptOuts) -> Any:
    """For an ``identify`` whose traits say the person opted out (``stages.opt_out_names.opted_out_trait``:
    Customer.io's ``unsubscribed: true``, Braze's ``email_subscribe: "unsubscribed"``, HubSpot's
    ``hs_email_optout``, ``DoNotCall`` ...), the mapping's ``Unsubscribed`` opt-out of the channels those traits name
    (several: as a list of channels reads, ``spellings``); None otherwise (no such trait, or a mapping without an
    opt-out).  The call is then that opt-out, which links nothing (as every opt-out: README "Identity"): before,
    it was a profile update, and the person kept getting the channel."""
    from journeyflow.stages.opt_out_names import opted_out_trait
    from journeyflow.stages.spellings import EVERY_CHANNEL, _several_channels

    if not isinstance(traits, dict) or not traits or not contained.kinds:
        return None
    scopes = list(dict.fromkeys(s for k, v in traits.items() if (s := opted_out_trait(k, v)) is not None))
    if not scopes:
        return None
    scope = scopes[0] if len(scopes) == 1 else _several_channels(",".join(scopes)) or EVERY_CHANNEL
    target = contained.kinds.get("unsubscribed") or next(iter(contained.kinds.values()))
    fixed = next((a for a in target.attrs if a.name == "channel" and a.has_value), None)
    if fixed is None:
        return target
    return target._replace(attrs=tuple(a._replace(value=scope) if a is fixed else a for a in target.attrs))
