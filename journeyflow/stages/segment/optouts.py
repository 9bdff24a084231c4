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
  leaves the mapped one.
"""
from __future__ import annotations

from typing import Any, Mapping

from journeyflow.stages.spellings import channel_symbol

__all__ = ["folded_name", "folded_opt_outs", "is_opt_out", "named_channel_too"]


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


def named_channel_too(target: Any, fixed: Any, msg: Mapping[str, Any], symbols: frozenset[str]) -> Any:
    """The channel of an opt-out whose mapping fixes it to ``fixed`` when the message's ``properties.channel`` names
    another: both (see the module docstring); else ``fixed``.  ``symbols``: the channels of the target stream."""
    props = msg.get("properties")
    named = props.get("channel") if isinstance(props, dict) else None
    if named is None or named == "" or named == [] or not isinstance(fixed, str):
        return fixed
    text = ",".join(map(str, named)) if isinstance(named, list) else named
    alone = channel_symbol(target.stream, target.type, text, symbols)
    if alone is None or alone == fixed:
        return fixed
    return channel_symbol(target.stream, target.type, f"{fixed},{alone}", symbols) or fixed
