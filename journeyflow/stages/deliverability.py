"""Consent and deliverability per address (issue 16): the address-status rules of ``CustomerState``.

Plain Python, no Beam: the per-customer processor, the bounded fold (``stages.bounded``), compare and bench use it.

Two kinds of status, both "latest record in event time wins" (at equal times a blocking status wins):

* **channel consent** (``CustomerState.consent``: channel -> [status, ts]), the customer's own preference for a
  channel: set by consent records (whatever identifier they name) and by engagement unsubscribes/complaints, in the
  state of the customer the record is routed to;
* **address status** (``CustomerState.addr_status``: address key -> channel -> [status, ts, hard bounce ts, soft
  bounce times]), keyed by the hashed address (``email:<hmac>`` / ``phone:<hmac>``): set by records that *name* the
  address of that channel (a consent record by email for the email channel, by phone for sms/call; an engagement
  unsubscribe/complaint/bounce carrying the email or phone).  ``granted`` / ``revoked`` / ``unsubscribed`` /
  ``complained`` are latest-wins; a hard bounce (``bounce_type`` hard or absent) blocks the address from its time
  on and no grant clears it; soft bounces are only counted (the policy's ``deliverability.soft_bounces`` decides
  how many block).  An address-status record reaches every customer state holding the address, not only the one
  its identifiers resolve to: the same change arrives as an ``ADDRESS_STREAM`` copy (``apply_address``) in the
  others (:func:`address_copies` here for the bounded path, ``transforms.address`` for Beam).  A bounce that names
  no address applies to the customer's most recently seen address of that channel, in that customer's state only.

``CustomerState.addresses`` (address key -> [kind, raw address, last seen]) are the delivery addresses the customer
was seen with, raw only for delivery (never written to a table or the audit topic); :func:`delivery_address` picks
the most recently seen one whose status permits a send (an SMS never goes to a landline; a bounce blocks no channel;
push devices, ``anon:<id>``, ``registered`` / ``unregistered``: :mod:`journeyflow.stages.push_devices`).
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from journeyflow.model.decisions import ADDRESS_FOR_CHANNEL, ADDRESS_KINDS, CHANNELS
from journeyflow.model.events import ADDRESS_STREAM, ENGAGEMENT_STATUS_TYPES, Event, is_status_event
from journeyflow.stages.bounce_words import OPT_OUT_KINDS, SENDER, bounce_kind
from journeyflow.stages.spellings import EVERY_CHANNEL, PHONE_CHANNELS
from journeyflow.stages.mailboxes import contact_key, granted as _granted, hashed_key, held_grant, mailbox_block
from journeyflow.stages.mailboxes import REFUSED_KINDS, mailbox_key, named_keys, remember_grant  # (named_keys too)
from journeyflow.stages.phone_facts import sms_capable  # (``identity.phone_types``' answer, from the shared parse)
from journeyflow.stages.push_devices import REGISTERED, UNREGISTERED, push_delivery, push_keys, register

if TYPE_CHECKING:
    from journeyflow.stages.state import CustomerState

#: Channel-consent statuses that block a channel (``bounced``: only in channel consent written by state version 1).
BLOCKING = frozenset({"revoked", "unsubscribed", "complained", "bounced"})
#: Address statuses that are an opt-out by the address's owner (a hard bounce is ``HARD_BOUNCE``).
ADDRESS_OPT_OUTS = frozenset({"revoked", "unsubscribed", "complained"})
#: Address effects that are not an opt-out status: a hard bounce (permanent) and a soft bounce (counted).
HARD_BOUNCE = "bounced"
SOFT_BOUNCE = "soft_bounce"
#: Address effects a record can carry (``address_effects``); the first four are latest-wins statuses.  A soft bounce
#: carries its record's identity: ``soft_bounce:<id>`` (:func:`soft_bounce`).
ADDRESS_EFFECTS: tuple[str, ...] = ("granted", "revoked", "unsubscribed", "complained", HARD_BOUNCE, SOFT_BOUNCE)
#: Effects that also change the status of the address's mailbox (``stages.mailboxes``): opt-outs (a grant is of the
#: address it names: a grant of ``ann+shop@`` does not lift an opt-out of ``ann@``).
_MAILBOX_EFFECTS = frozenset(ADDRESS_EFFECTS[1:4])
#: Delivery addresses kept per kind (email, phone): the most recently seen.  Their statuses are kept regardless.
MAX_ADDRESSES_PER_KIND = 4
#: Soft-bounce times kept per address and channel (the newest).
MAX_SOFT_BOUNCES = 20
#: Why no address is permitted (``delivery_address``): none known, every one opted out, or none deliverable.
NO_ADDRESS, ADDRESS_OPTED_OUT, ADDRESS_UNDELIVERABLE = "no_address", "opted_out", "undeliverable"
_IDENTITY_STREAM = "_identity"  # pseudo-stream of identity hand-overs (``identity.online``): names no address
_SCOPES = {EVERY_CHANNEL: CHANNELS, PHONE_CHANNELS: ("sms", "call")}  # (channels_of: opt-out scopes)
_TIE_WINS = BLOCKING | {UNREGISTERED}  # (statuses that win a tie of times: fail safe)

def address_effects(ev: Event) -> list[tuple[str, str, str, int]]:
    """``(address key, channel, effect, ts)`` for each address-status change the record carries (see the module
    docstring): a consent record or engagement unsubscribe/complaint/bounce naming the address the channel is
    delivered to, or an ``ADDRESS_STREAM`` copy.  Effects are ``ADDRESS_EFFECTS``.  Every address named changes
    (:func:`named_keys`; before, an opt-out naming two addresses blocked only its contact's); an opt-in or opt-out
    of an email also changes its mailbox's status (``stages.mailboxes``: ``ann+shop@`` -> ``ann@``'s key)."""
    s, t, a = ev.stream, ev.type, ev.attrs
    if s == ADDRESS_STREAM:
        return [(a["key"], a["channel"], a["status"], a["at"])]
    if s == "consent":
        effect = "granted" if t == "consent_granted" else "revoked"
    elif s == "engagement" and t in ENGAGEMENT_STATUS_TYPES:
        effect = t if t != "bounced" else bounce_effect(ev)
        if effect is None:  # (the sender's fault: no address changes)
            return []
    else:
        return []
    out = []
    for ch in channels_of(a.get("channel")):
        if ch == "push":  # (its devices, else a bounce's user: ``push_devices``; a hard bounce unregisters)
            out += [(k, ch, UNREGISTERED if effect == HARD_BOUNCE else effect, ev.ts)
                    for k in push_keys(ev, effect not in ADDRESS_EFFECTS[:4])]
        kind = ADDRESS_FOR_CHANNEL.get(ch)
        keys = named_keys(ev.contact, kind) if kind is not None else []
        if kind == "email" and effect in _MAILBOX_EFFECTS:  # the mailbox of the address too (``stages.mailboxes``)
            keys += [k for k in [mailbox_key(ev.contact.get("email"))] if k and k not in keys]
        out += [(key, ch, effect, ev.ts) for key in keys]
    return out


def channels_of(channel: Any) -> tuple[str, ...]:
    """The channels a status record's ``channel`` names: itself; every channel for ``fields.EVERY_CHANNEL`` (an
    opt-out of everything: ``"all"``, absent or null), texts and calls for ``fields.PHONE_CHANNELS`` (an opt-out
    naming a phone); the parser allows those two on opt-outs only."""
    return _SCOPES.get(channel) or ((channel,) if channel else ())


def address_copy(key: str, channel: str, effect: str, at: int, target: str, ts: int | None = None) -> Event:
    """The ``ADDRESS_STREAM`` event that carries one address-status change to another customer state.

    ``at`` is the change's own event time (the status's time); ``ts`` the time the copy is processed at (default
    ``at``; streaming moves a copy that arrives behind a customer's processed horizon to just after it).  The uid is
    a function of the change, so both pipelines order copies the same way."""
    return Event(uid=f"{ADDRESS_STREAM}/{key}/{channel}/{effect}/{at}", stream=ADDRESS_STREAM, type="address_status",
                 ts=at if ts is None else ts, ids=(target,),
                 attrs={"key": key, "channel": channel, "status": effect, "at": at})


# ------------------------------------------------------------------------------------------- state rules
def apply_status(s: "CustomerState", ev: Event) -> None:
    """The consent and deliverability part of ``CustomerState.apply``: a consent record or an engagement unsubscribe
    or complaint sets the channel consent (latest wins, an opt-out wins a tie) and the address statuses it names
    (:func:`apply_status_event`; a bounce blocks an address only); a deletion marks the account (stages.deletion)."""
    st, t = ev.stream, ev.type
    if st == "crm" and t == "contact_deleted":
        from journeyflow.stages.deletion import mark_deleted
        return mark_deleted(s, ev.ts)
    if st == "consent" or (st == "engagement" and t in ENGAGEMENT_STATUS_TYPES):
        if t == "bounced" and (e := bounce_effect(ev)) in OPT_OUT_KINDS:
            t = e  # (a refusal because the person opted out -- Twilio 21610, a STOP -- is that opt-out)
        if t != "bounced":
            for ch in channels_of(ev.attrs["channel"]):
                s._set_consent(ch, "granted" if t == "consent_granted" else "revoked" if st == "consent" else t,
                               ev.ts)
        apply_status_event(s, ev)
    elif st == "engagement" and ev.attrs.get("channel") == "push":
        register(s, ev)  # a push delivered on a device: the device is known (``push_devices``)


def apply_status_event(s: "CustomerState", ev: Event) -> None:
    """The address side of ``CustomerState.apply`` for a consent record or an engagement status record: the
    address-status changes it names; a bounce naming no address hits the customer's most recent address of the
    channel seen by the bounce's time (else the most recent; this state only)."""
    if not apply_address(s, ev) and ev.stream == "engagement" and ev.type == "bounced":
        a = ev.attrs  # the most recent address at the bounce's time (a late one: not an address first seen after it)
        held = addresses_of(s, ADDRESS_FOR_CHANNEL.get(a.get("channel"), ""))  # type: ignore[arg-type]
        effect = bounce_effect(ev)  # (None: the sender's fault)
        for key, _raw in [next((h for h in held if s.addresses[h[0]][2] <= ev.ts), held[0])] if held and effect else ():
            set_address_status(s, key, a["channel"], effect, ev.ts)


def apply_address(s: "CustomerState", ev: Event) -> bool:
    """Apply the address-status changes ``ev`` carries (``address_effects``); False when it carries none."""
    effects = address_effects(ev)
    for key, ch, effect, at in effects:
        set_address_status(s, key, ch, effect, at)
    return bool(effects)


def bounce_effect(ev: Event) -> str | None:
    """The address effect of a bounce record: :func:`soft_bounce` of its uid for a soft one, ``unsubscribed`` /
    ``complained`` for a refusal because the person opted out (Twilio 21610: a STOP), None for the sender's own
    fault (an expired APNs provider token: the address is left as it is), else ``HARD_BOUNCE`` (absent or an
    unknown word means hard).  The type is read in the providers' words (``stages.bounce_words``: ``Transient``,
    ``4.2.2``, ``UNAVAILABLE`` ...), as a Segment ``Email Bounced`` mapped from its ``properties`` gives it unparsed."""
    bt = ev.attrs.get("bounce_type")
    kind = bt if bt == "soft" or bt is None else bounce_kind(bt)
    if kind == "soft":
        return soft_bounce(ev.uid)
    return None if kind == SENDER else kind if kind in OPT_OUT_KINDS else HARD_BOUNCE


def soft_bounce(uid: str) -> str:
    """The effect of one soft-bounce record: ``soft_bounce:<8 hex of its event uid>``.  Soft bounces are counted, so
    each needs an identity: several at one millisecond (an ESP batch with second-precision times) are several,
    while the same record applied twice (a redelivery, an address copy, a merge) stays one.  Before, they were
    identified by their time only and three soft bounces at one millisecond counted one."""
    return f"{SOFT_BOUNCE}:{hashlib.sha1(uid.encode()).hexdigest()[:8]}"


def _soft_ts(entry: Any) -> int:  # a soft-bounce entry's time: ``[ts, id]``, or an int (before identities)
    return entry if entry.__class__ is int else entry[0]


def set_address_status(s: "CustomerState", key: str, channel: str, effect: str, ts: int) -> None:
    """One address-status change (commutative and idempotent: the order changes arrive in does not matter).  A soft
    bounce ``soft_bounce(uid)`` is kept as ``[ts, id]``, a bare ``SOFT_BOUNCE`` (no identity) as its time."""
    per = s.addr_status.setdefault(key, {})
    rec = per.get(channel)
    if rec is None:
        rec = per[channel] = [None, None, None, []]
    if effect == HARD_BOUNCE:
        if rec[2] is None or ts < rec[2]:
            rec[2] = ts
    elif effect.startswith(SOFT_BOUNCE):
        # with an identity [ts, id]; without (a bare SOFT_BOUNCE, as written before identities): its time only
        entry = [ts, effect[len(SOFT_BOUNCE) + 1:]] if effect != SOFT_BOUNCE else ts
        soft = rec[3]
        if entry not in soft:
            soft.append(entry)
            soft.sort(key=lambda e: (_soft_ts(e), "" if e.__class__ is int else e[1]))
            del soft[:-MAX_SOFT_BOUNCES]
    elif effect == REGISTERED:  # (a placeholder: any other status replaces it, at any time; its time: the latest)
        rec[:2] = [effect, max(ts, rec[1] or ts)] if rec[0] in (None, REGISTERED) else rec[:2]
    elif (rec[1] is None or ts > rec[1] or rec[0] == REGISTERED
          or (ts == rec[1] and effect in _TIE_WINS and rec[0] not in _TIE_WINS)):
        if rec[0] == "granted" and effect != "granted":
            remember_grant(rec, rec[1])
        elif effect == "granted":
            del rec[4:]
        rec[0], rec[1] = effect, ts
    elif effect == "granted" and rec[0] != "granted":  # an older grant than the latest opt-out: remembered
        remember_grant(rec, ts)


#: Streams whose records name an address only because a message was sent there: not the customer giving it.
ECHO_STREAMS = frozenset({"engagement"})
#: Streams whose records name an address someone else typed (a support desk's ticket: the caller's number, or the
#: agent's desk phone on many customers' tickets): a delivery address only when the customer has none (see_contact).
MENTION_STREAMS = frozenset({"support"})


def see_contact(s: "CustomerState", contact: Any, ts: int, stream: str | None = None) -> None:
    """Record the delivery addresses a record names (``Event.contact``) as seen at ``ts``.

    A record of ``ECHO_STREAMS`` (the execution tool reporting on a message sent to the address) adds an address the
    customer does not have yet but never makes a known one the most recent: before, a soft bounce or a late
    ``opened`` at the address the customer had replaced in the CRM made the old address the delivery address again.
    A record of ``MENTION_STREAMS`` (support) adds its address only when the customer has no address of that kind
    and never makes a known one the most recent: before, the desk phone an agent typed into a ticket became the
    customer's newest phone, and the dunning text with the order amount went to the support desk.  So is an address
    the record names only through a refused identity link (``mailboxes.REFUSED_KINDS``: another customer's).
    Such an address is kept as a last resort (a fourth item ``1``): :func:`delivery_address` looks at it only while
    the customer has no other address of its kind, and the customer's own record naming it makes it its own."""
    echo, refused = stream in ECHO_STREAMS, contact.get(REFUSED_KINDS) or ()
    for kind in ADDRESS_KINDS:
        raw = contact.get(kind)
        if raw:
            key, mention = contact_key(contact, kind), stream in MENTION_STREAMS or kind in refused
            if not key or ((echo or mention) and key in s.addresses):
                continue
            if mention and any(v[0] == kind for v in s.addresses.values()):
                continue
            see_address(s, key, kind, raw, ts, mention)


def see_address(s: "CustomerState", key: str, kind: str, raw: str, ts: int, last_resort: bool = False) -> None:
    """Record an address seen at ``ts`` (``last_resort``: see :func:`see_contact`; the customer's own sighting, at any
    time, makes it its own); keeps ``MAX_ADDRESSES_PER_KIND`` a kind: own, granted (held_grant), then newest."""
    cur = s.addresses.get(key)
    if cur is not None:
        weak = [1] if last_resort and len(cur) > 3 else []
        if ts >= cur[2]:
            s.addresses[key] = [kind, raw, ts, *weak]
        elif not weak:
            del cur[3:]
        return
    s.addresses[key] = [kind, raw, ts, 1] if last_resort else [kind, raw, ts]
    same = [k for k, v in s.addresses.items() if v[0] == kind]
    if len(same) > MAX_ADDRESSES_PER_KIND:
        same.sort(key=lambda k: (len(s.addresses[k]) == 3, held_grant(s, k), s.addresses[k][2], k))
        for k in same[:-MAX_ADDRESSES_PER_KIND]:
            del s.addresses[k]


def addresses_of(s: "CustomerState", kind: str) -> list[tuple[str, str]]:
    """(key, raw) of the customer's ``kind`` (email|phone) addresses, most recently seen first (ties: key)."""
    found = sorted(((v[2], k, v[1]) for k, v in s.addresses.items() if v[0] == kind), reverse=True)
    return [(k, raw) for _ts, k, raw in found]


def address_block(s: "CustomerState", key: str, channel: str, now: int, soft_max: int = 0,
                  soft_window_ms: int = 0, email: str | None = None) -> str | None:
    """Why the address may not be sent to on ``channel`` at ``now``: its opt-out status (``revoked``,
    ``unsubscribed``, ``complained``), ``bounced`` (hard), ``soft_bounce`` (at least ``soft_max`` soft bounces in
    ``(now - soft_window_ms, now]``; 0: never), or None when it is permitted.  ``email``: the address itself (raw,
    normalized) when it is an email: an opt-out of its mailbox (another spelling: ``mailboxes.mailbox_block``) not
    followed by a grant of the address itself blocks it too; before, an opt-out of ``ann@`` left ``ann+shop@`` open."""
    if not s.addr_status:
        return None
    per = s.addr_status.get(key)
    rec = per.get(channel) if per else None
    if rec is not None:
        if rec[2] is not None and rec[2] <= now:
            return HARD_BOUNCE
        if rec[0] in ADDRESS_OPT_OUTS or rec[0] == UNREGISTERED:
            return rec[0]
        if soft_max and rec[3]:
            lo = now - soft_window_ms
            if sum(1 for t in rec[3] if lo < _soft_ts(t) <= now) >= soft_max:
                return SOFT_BOUNCE
    return mailbox_block(s, email, channel, rec) if email else None


def delivery_address(s: "CustomerState", channel: str, now: int, soft_max: int = 0,
                     soft_window_ms: int = 0, granted: bool = False) -> tuple[str, str] | str:
    """The address a send on ``channel`` goes to: ``(key, raw)`` of the most recently seen address of the channel's
    kind whose status permits it (:func:`address_block`; for ``sms`` not a landline: ``identity.phone_types.sms_capable``),
    else why not: ``ADDRESS_OPTED_OUT`` (some address is known and at least one of them is opted out),
    ``ADDRESS_UNDELIVERABLE`` (every known one bounced, or is a landline) or ``NO_ADDRESS`` (none known, or a channel
    without addresses).  Push: ``push_devices.push_delivery``.

    ``granted``: the send needs an explicit grant (policy ``consent.requires: granted``).  When some address of the
    customer was granted itself (a consent record naming it, or its mailbox: ``mailboxes.granted``), only those are
    candidates: a grant given for ``ann@`` is no consent of the ``bob@`` seen later (before, the marketing went to
    the newest address, never consented to); ``ADDRESS_OPTED_OUT`` when none of them is permitted while others
    are.  Without any address-level grant (consent given by CRM id: the person's) every address is a candidate."""
    if channel == "push":
        return push_delivery(s, now, soft_max, soft_window_ms)
    kind = ADDRESS_FOR_CHANNEL.get(channel)
    if kind is None:
        return NO_ADDRESS
    found = [(v[2], k, v[1]) for k, v in s.addresses.items() if v[0] == kind and len(v) == 3]  # (``addresses_of``)
    if not found:  # a last resort's (``see_contact``) only while the customer has no address of its own
        found = [(v[2], k, v[1]) for k, v in s.addresses.items() if v[0] == kind]
        if not found:
            return NO_ADDRESS
    if len(found) > 1:
        found.sort(reverse=True)  # most recently seen first (ties: key)
    opted, email, skipped = False, kind == "email", 0
    if granted and s.addr_status:
        consented = [f for f in found if _granted(s, f[1], f[2], channel)]
        if consented:
            skipped, found = len(found) - len(consented), consented + [f for f in found if f not in consented]
    for i, (_ts, key, raw) in enumerate(found):
        why = address_block(s, key, channel, now, soft_max, soft_window_ms, raw if email else None)
        if why is None:
            if channel != "sms" or sms_capable(raw):  # (no text to a landline: it takes calls only)
                # (one permitted but never granted while another address was: consent)
                return ADDRESS_OPTED_OUT if i >= len(found) - skipped else (key, raw)
        elif why in ADDRESS_OPT_OUTS:
            opted = True
    return ADDRESS_OPTED_OUT if opted else ADDRESS_UNDELIVERABLE


def address_rows(s: "CustomerState") -> list[dict[str, Any]]:
    """Per address key and channel with a status: ``{address_key, channel, status, since}`` (``status``:
    ``bounced`` from a hard bounce on, else the latest opt-in/opt-out status; ``since`` epoch ms), for snapshots."""
    rows = []
    for key in sorted(s.addr_status):
        for ch, (st, ts, hard) in sorted((c, r[:3]) for c, r in s.addr_status[key].items()):
            if hard is not None:
                rows.append({"address_key": key, "channel": ch, "status": HARD_BOUNCE, "since": hard})
            elif st is not None:
                rows.append({"address_key": key, "channel": ch, "status": st, "since": ts})
    return rows


def expire_address_status(s: "CustomerState", now: int, soft_bounces_ms: int) -> None:
    """Drop soft bounces older than ``soft_bounces_ms`` and address entries left with no status (kept for good)."""
    lo = now - soft_bounces_ms
    statuses, gone = s.addr_status, []  # (entries to delete, deleted after the pass: no copies of the dicts)
    for key, per in statuses.items():
        left = len(per)
        for ch, rec in per.items():
            if rec[3] and _soft_ts(rec[3][0]) <= lo:
                rec[3] = [t for t in rec[3] if _soft_ts(t) > lo]
            if rec[0] is None and rec[2] is None and not rec[3]:
                gone.append((key, ch))
                left -= 1
        if not left:
            gone.append((key, None))
    for key, ch in gone:
        if ch is None:
            del statuses[key]
        else:
            del statuses[key][ch]


def upgrade_v1(s: "CustomerState", d: dict[str, Any]) -> None:
    """State version 1 kept one raw address per kind (``contact``) and no per-address status: key the addresses
    (seen at the state's last event)."""
    for kind in ADDRESS_KINDS:
        raw = (d.get("contact") or {}).get(kind)
        key = hashed_key(kind, raw) if raw else None
        if key:
            see_address(s, key, kind, raw, s.last_event or 0)


class AddressStatus:
    """The address methods of ``CustomerState`` (a slots-only mixin; each delegates to this module's function of the
    same name, with the state as first argument)."""

    __slots__ = ()
    addresses: dict[str, list]
    addr_status: dict[str, dict[str, list]]

    def apply_status(self, ev: Event) -> None:
        """Only the consent and deliverability changes of a record (``deliverability.apply_status``)."""
        apply_status(self, ev)

    def apply_address(self, ev: Event) -> bool:
        """Only the address-status changes ``ev`` carries (an ``ADDRESS_STREAM`` copy); False when none."""
        return apply_address(self, ev)

    def set_address_status(self, key: str, channel: str, effect: str, ts: int) -> None:
        """One address-status change (``deliverability.ADDRESS_EFFECTS``); commutative and idempotent."""
        set_address_status(self, key, channel, effect, ts)

    def addresses_of(self, kind: str) -> list[tuple[str, str]]:
        """(key, raw) of the customer's ``kind`` (email|phone) addresses, most recently seen first."""
        return addresses_of(self, kind)

    def address_block(self, key: str, channel: str, now: int, soft_max: int = 0, soft_window_ms: int = 0,
                      email: str | None = None) -> str | None:
        """Why the address may not be sent to on ``channel`` at ``now`` (``deliverability.address_block``)."""
        return address_block(self, key, channel, now, soft_max, soft_window_ms, email)

    def delivery_address(self, channel: str, now: int, soft_max: int = 0,
                         soft_window_ms: int = 0, granted: bool = False) -> tuple[str, str] | str:
        """``(key, raw)`` a send on ``channel`` goes to, or why none (``deliverability.delivery_address``)."""
        return delivery_address(self, channel, now, soft_max, soft_window_ms, granted)

    def address_rows(self) -> list[dict[str, Any]]:
        """Snapshot rows ``{address_key, channel, status, since}`` (``deliverability.address_rows``)."""
        return address_rows(self)


# ------------------------------------------------------------------------------------------- sharing
def held_addresses(ev: Event) -> list[str]:
    """Keys of the addresses a record names (its customer holds them from then on), and of its email's mailbox."""
    c = ev.contact
    if not c or ev.stream in (_IDENTITY_STREAM, ADDRESS_STREAM):
        return []
    out = [key for kind in ADDRESS_KINDS if c.get(kind) and (key := contact_key(c, kind))]
    box = mailbox_key(c.get("email"))  # its mailbox too (another spelling's opt-out reaches it: stages.mailboxes)
    return out + [box] if box else out


def address_changes(ev: Event) -> list[tuple[str, str, str, int]]:
    """``(key, channel, effect, at)`` of the address-status changes a record makes (empty for most records)."""
    if ev.stream in (_IDENTITY_STREAM, ADDRESS_STREAM) or not is_status_event(ev.stream, ev.type):
        return []
    return [e for e in address_effects(ev) if e[1] != "push"]  # (a push device's status is its customer's only)


def holds(item: tuple[str, tuple[Event, tuple]]) -> Iterator[tuple[str, str]]:
    """(address key, cluster) for each address a keyed replay item ``(cluster, (event, links))`` names."""
    cluster, (ev, _links) = item
    for key in held_addresses(ev):
        yield key, cluster


def changes(item: tuple[str, tuple[Event, tuple]]) -> Iterator[tuple[str, tuple[str, str, str, int]]]:
    """(address key, (cluster, channel, effect, at)) for each address-status change of a keyed replay item."""
    cluster, (ev, _links) = item
    for key, ch, effect, at in address_changes(ev):
        yield key, (cluster, ch, effect, at)


def fan_out(key: str, holders: Iterable[str], changes: Iterable[tuple[str, str, str, int]]
            ) -> Iterator[tuple[str, Event]]:
    """(holder, copy) for every change and every holder but the change's own customer (sorted: deterministic)."""
    holders = sorted(set(holders))
    for origin, ch, effect, at in sorted(set(map(tuple, changes))):
        for h in holders:
            if h != origin:
                yield h, address_copy(key, ch, effect, at, h)


class AddressCopies:
    """:func:`address_copies` built one keyed record at a time: ``add`` each ``(cluster, event)`` (any order: the
    copies do not depend on it), then ``copies``.  Records that name no address and change no status are skipped at
    the cost of two tests, so a caller keying every record can feed it as it goes."""

    __slots__ = ("held", "found")

    def __init__(self) -> None:
        self.held: dict[str, set[str]] = {}  # address key -> clusters holding it
        self.found: dict[str, list[tuple[str, str, str, int]]] = {}  # address key -> (cluster, channel, effect, at)

    def add(self, cluster: str, ev: Event) -> None:
        """Note the addresses ``ev`` (keyed to ``cluster``) names and the address-status changes it makes."""
        if ev.contact:
            for key in held_addresses(ev):
                self.held.setdefault(key, set()).add(cluster)
        if ev.stream in _STATUS_STREAMS and is_status_event(ev.stream, ev.type):
            for key, ch, effect, at in address_changes(ev):
                self.found.setdefault(key, []).append((cluster, ch, effect, at))

    def copies(self) -> list[tuple[str, tuple[Event, tuple]]]:
        """``(holder cluster, (copy, ()))`` of every change for every other holder of its address (sorted)."""
        return [(holder, (copy, ())) for key in sorted(self.found)
                for holder, copy in fan_out(key, self.held.get(key, ()), self.found[key])]


#: The input streams whose records may change an address status (``is_status_event``; copies are not input).
_STATUS_STREAMS = frozenset({"consent", "engagement"})


def address_copies(keyed: Iterable[tuple[str, tuple[Event, tuple]]]) -> list[tuple[str, tuple[Event, tuple]]]:
    """``transforms.address.ShareAddressStatus`` in process (no Beam): the copies for a list of
    ``(cluster, (event, links))``, as ``(holder cluster, (copy, ()))`` (:class:`AddressCopies`)."""
    acc = AddressCopies()
    for cluster, (ev, _links) in keyed:
        acc.add(cluster, ev)
    return acc.copies()
