"""One mailbox, several spellings (compliance, fail safe): the address-status key of an email's mailbox.

Plain Python, no Beam.  Identity keeps spellings apart that only some providers deliver to one mailbox
(``identity.keys``: ``ann+shop@x.com`` is not ``ann@x.com`` unless ``--merge_plus_addresses``; dots matter except at
gmail).  Consent must not: an opt-out of any spelling of a mailbox blocks every spelling of it, in every direction.
So every address has a *mailbox*, :func:`mailbox_of` its normalized address, and the address status of a mailbox is
kept under the key of that address (``email:<hmac>`` of ``ann@x.com`` for ``ann+shop@x.com``: the same key as the
base address itself, so the status is shared with it and with every other spelling):

* an opt-out naming an address also sets the status of its mailbox's key (latest wins, an opt-out wins a tie:
  ``deliverability.address_effects``); a grant does not (it is consent for the address it names, and for the
  mailbox only when it names the mailbox's own address), nor does a bounce (a fact of the address as sent to);
* a customer holding an address also holds its mailbox's key, so a change of the mailbox's status is copied to it
  (``deliverability.held_addresses``, in replay and streaming alike);
* a send to an address is blocked when its own status is an opt-out, or its mailbox's is and the address itself was
  not granted later (:func:`mailbox_block`).  Opt-out of ``ann@`` then send to ``ann+shop@``, of ``ann+a@`` then to
  ``ann+b@``, of ``a.nn@googlemail.com`` then to ``ann@gmail.com``: all blocked.  A later grant of ``ann+shop@``
  re-opens ``ann+shop@`` only; a later grant of ``ann@`` (the mailbox's own address) every spelling without an
  opt-out of its own.

Spellings of one mailbox (the sources):

* a subaddress (RFC 5233 "detail"): the part of the local part after the first ``+`` (Gmail, Outlook.com, iCloud,
  Fastmail and Proton deliver ``ann+tag@`` to ``ann@``; ``spellings.plus_bases`` reads it so since qa10d).  On every
  domain: a domain without tags refuses the tagged address, so treating it as the mailbox only ever blocks more.  Not ``-``: it is qmail's default and a per-server setting (Postfix/Dovecot
  ``recipient_delimiter``) that no large provider documents for its users' addresses, and ``ann-marie@`` is mostly
  not ``ann@``;
* Gmail (:data:`PROVIDER_SPELLINGS`): dots in the local part do not matter ("Dots don't matter in Gmail
  addresses", support.google.com/mail/answer/7436150) and ``googlemail.com`` is ``gmail.com``
  (support.google.com/mail/answer/10313).  Not Google Workspace domains, where dots matter.
* one account's domains (:data:`ACCOUNT_DOMAINS`, qa13c): a name is one account's on each of its provider's
  consumer domains, so ``ann@me.com`` is ``ann@icloud.com``'s mailbox.  iCloud: ``me.com`` and ``mac.com`` are the
  same account's ``icloud.com`` addresses ("About your @icloud.com, @me.com, and @mac.com email addresses",
  support.apple.com/118230); Proton: ``protonmail.com``, ``protonmail.ch`` and ``pm.me`` are the same account's
  ``proton.me`` addresses, names reserved to their owner across them (proton.me/support/addresses-and-aliases);
  Yandex: every mailbox has its aliases on ``ya.ru``, ``yandex.com``, ``yandex.by``, ``yandex.kz``, ``yandex.ua``
  (yandex.com/support/domain/additional/mailbox-alias.xml).  Where the other domain's address does not exist (an
  account made after a domain closed) the rule blocks an address nobody receives: fail safe.  Opt-outs only: a
  bounce of one of them stays that address's (:func:`mailbox_of`).  Not Microsoft's
  (``hotmail.com`` / ``outlook.com`` / ``live.com`` are separate namespaces) nor Yahoo's (``ymail.com``).

Keys are hashed with the deployment's key (:func:`process_hasher`, ``JOURNEYFLOW_HASH_KEY``: the key the parsers
hash with); the mailbox's normalized address is never kept.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from journeyflow.model.decisions import ADDRESS_KEY_FIELD

if TYPE_CHECKING:
    from journeyflow.stages.state import CustomerState

#: The subaddress separator read on every domain (RFC 5233; see the module docstring for ``-``).
SUBADDRESS_SEPARATOR = "+"
#: Provider rules: domain -> (the domain its mailboxes are delivered as, whether dots in the local part are ignored).
PROVIDER_SPELLINGS: dict[str, tuple[str, bool]] = {"gmail.com": ("gmail.com", True),
                                                   "googlemail.com": ("gmail.com", True)}
#: One account's other domains: domain -> the domain its names are read at (``mailbox_of(..., accounts=True)``, the
#: default: opt-outs and the mailboxes customers hold; not bounces, :func:`mailbox_of`).
ACCOUNT_DOMAINS: dict[str, str] = {
    "me.com": "icloud.com", "mac.com": "icloud.com",
    "protonmail.com": "proton.me", "protonmail.ch": "proton.me", "pm.me": "proton.me",
    **{d: "yandex.ru" for d in ("ya.ru", "yandex.com", "yandex.by", "yandex.kz", "yandex.ua")}}

#: ``Event.contact`` field holding the keys (space-separated ``email:<hmac>`` / ``phone:<hmac>``) of the addresses an
#: opt-out names besides its contact's own (``email_key`` / ``phone_key``): :func:`named_keys` reads it, the parsers
#: write it (``spellings.also_named``).
ALSO_KEYS = "also_keys"
#: ``Event.contact`` field naming the kinds (space-separated ``email`` / ``phone``) whose address the record names
#: only through an identity link that was refused (another customer's address: ``kind_cap``, ``shared_identifier``):
#: for this customer a last resort, as a support ticket's address (``deliverability.see_contact``);
#: :func:`refused_contact` writes it, identity resolution (``identity.clusters``, ``identity.online``) calls it.
REFUSED_KINDS = "refused_kinds"
_HASHER: list = []


def process_hasher() -> Any:
    """The process's :class:`~journeyflow.stages.identity.keys.Hasher` (``Hasher.from_env``), made once."""
    if not _HASHER:
        from journeyflow.stages.identity.keys import Hasher
        _HASHER.append(Hasher.from_env())
    return _HASHER[0]


def mailbox_of(normalized: str, accounts: bool = True) -> str:
    """The normalized address of the mailbox ``normalized`` (an address as ``Hasher.email`` normalizes it) is
    delivered to: without its subaddress, with the provider's rules applied (``Ann.Lee+shop@googlemail.com`` ->
    ``annlee@gmail.com``) and, with ``accounts``, at its account's domain (:data:`ACCOUNT_DOMAINS`: ``ann@me.com``
    -> ``ann@icloud.com``); ``normalized`` itself when it is its own mailbox (or no address).  ``accounts=False``
    is the parsers' reading (``spellings.plus_bases``: every address an opt-out *or a bounce* names besides its
    own): a bounce of ``ann@me.com`` says that alias does not exist (an account made after 2012), not that
    ``ann@icloud.com`` does not."""
    local, at, domain = normalized.rpartition("@")
    if not at or not local:
        return normalized
    head = local.partition(SUBADDRESS_SEPARATOR)[0] or local
    if accounts:
        domain = ACCOUNT_DOMAINS.get(domain, domain)
    rule = PROVIDER_SPELLINGS.get(domain)
    if rule is not None:
        domain = rule[0]
        if rule[1]:
            head = head.replace(".", "") or head
    return f"{head}@{domain}"


def mailbox_key(normalized: str | None, hasher: Any = None, accounts: bool = True) -> str | None:
    """``email:<hmac>`` of the mailbox of ``normalized`` when it is another address than ``normalized`` itself, else
    None (most addresses: their own key is their mailbox's).  ``hasher``: default :func:`process_hasher` (cached);
    ``accounts``: as :func:`mailbox_of`."""
    if not normalized:
        return None
    if hasher is None and accounts:
        return _mailbox_key(normalized)
    box = mailbox_of(normalized, accounts)
    hasher = process_hasher() if hasher is None else hasher
    return _hash(hasher, box) if box != normalized else None


@functools.lru_cache(maxsize=65536)
def _mailbox_key(normalized: str) -> str | None:
    box = mailbox_of(normalized)
    return _hash(process_hasher(), box) if box != normalized else None


def _hash(hasher: Any, box: str) -> str | None:
    try:
        return hasher.email(box)[0]
    except ValueError:  # (InvalidIdentifier) a mailbox spelling the validator refuses: no mailbox key
        return None


def contact_key(contact: Any, kind: str) -> str | None:
    """The identifier key of the ``kind`` address a record names (``contact[kind + "_key"]``), or None.

    Records from the parser always carry it; for a hand-built event (or a version 1 state) with only the raw address
    it is computed with the process's :class:`~journeyflow.stages.identity.keys.Hasher` (``JOURNEYFLOW_HASH_KEY``)."""
    key = contact.get(ADDRESS_KEY_FIELD[kind])
    if key:
        return key
    raw = contact.get(kind)
    return hashed_key(kind, raw) if raw else None


def hashed_key(kind: str, raw: str) -> str | None:
    """``email:<hmac>`` / ``phone:<hmac>`` of a raw address with the process's hasher; None when it is invalid."""
    try:
        return (process_hasher().email(raw) if kind == "email" else process_hasher().phone(raw))[0]
    except ValueError:  # (InvalidIdentifier)
        return None


def named_keys(contact: Any, kind: str) -> list[str]:
    """Keys of the ``kind`` (email|phone) addresses a record's ``contact`` names: its own (:func:`contact_key`), then
    those an opt-out names besides (``spellings.ALSO_KEYS``: an id that is an address, a Segment property's)."""
    own = contact_key(contact, kind)
    also = contact.get(ALSO_KEYS)
    return ([own] if own else []) + ([k for k in also.split() if k.startswith(kind + ":")] if also else [])


def mailbox_status(s: "CustomerState", email: str, channel: str) -> list | None:
    """The status record ``[status, ts, hard bounce ts, soft bounces]`` of the mailbox of ``email`` (a normalized
    address) on ``channel`` in the state ``s``, or None (none, or ``email`` is its own mailbox: its record is its
    own)."""
    per = s.addr_status.get(mailbox_key(email))  # type: ignore[arg-type]
    return per.get(channel) if per else None


def mailbox_block(s: "CustomerState", email: str, channel: str, own: list | None) -> str | None:
    """The opt-out of the mailbox of ``email`` that blocks it (``revoked`` / ``unsubscribed`` / ``complained``), or
    None: an opt-out of any spelling of the mailbox (:func:`mailbox_of`) blocks every spelling unless the address
    itself was granted later (``own``: its own status record; at equal times the opt-out wins).  Only opt-outs
    change a mailbox's key for another spelling (``deliverability.address_effects``), so a grant of ``ann+shop@``
    lifts neither an opt-out of ``ann@`` for ``ann@`` nor one of ``ann+a@`` for ``ann+b@``."""
    box = mailbox_status(s, email, channel)
    if box is None or box[0] not in ("revoked", "unsubscribed", "complained"):
        return None
    return None if own is not None and own[1] is not None and own[1] > box[1] else box[0]


def granted(s: "CustomerState", key: str, raw: str, channel: str) -> bool:
    """The address (or, without a status of its own, its mailbox) was granted itself: its latest status is
    ``granted``, or an opt-out overrode a grant (:func:`remember_grant`).  Before, a grant later revoked counted as
    none, and a customer whose only granted address was opted out by another holder of it (a copied revoke leaves
    the channel consent granted) got marketing at a newer address never consented to."""
    per = s.addr_status.get(key)
    own = per.get(channel) if per else None
    box = mailbox_status(s, raw, channel) if (own is None or own[0] is None) and channel == "email" else None
    return any(r is not None and (r[0] == "granted" or len(r) > 4) for r in (own, box))


def held_grant(s: "CustomerState", key: str) -> bool:
    """The address ``key`` was granted itself on some channel (its status record's latest status is ``granted`` or
    it remembers a grant: :func:`remember_grant`).  ``deliverability.see_address`` keeps such an address before a
    more recent one: before, a customer whose consent was given with ``ann@`` and who was seen with four newer
    addresses lost ``ann@`` from the delivery addresses, and marketing went to the newest one, never consented to."""
    per = s.addr_status.get(key)
    return bool(per) and any(r[0] == "granted" or len(r) > 4 for r in per.values())


def remember_grant(rec: list, ts: int) -> None:
    """Keep the latest grant an opt-out overrode in an address-status record ``[status, ts, hard bounce ts, soft
    bounces]`` as a fifth item (epoch ms; records without one have four): the address was granted itself, so it
    stays the scope of the customer's consent (:func:`granted`: policy ``consent.requires: granted`` asks for a
    grant of the address sent to).  Kept only while the latest status is not ``granted`` (``deliverability.
    set_address_status`` drops it on a grant), always the latest grant: the record stays a function of the set of
    changes, whatever their order."""
    if len(rec) < 5:
        rec.append(ts)
    elif ts > rec[4]:
        rec[4] = ts


def refused_contact(contact: Any, dropped: Any, pairs: Any) -> Any:
    """``contact`` with :data:`REFUSED_KINDS` naming each kind whose address key identity resolution ``dropped``
    from the record's identifiers after a link of it (one of ``pairs``, the record's ``(a, b)`` links) was refused:
    the address is another customer's.  ``contact`` itself when there is none.  (qa17h: an orders record naming
    V1's CRM id with V2's email made V2's address V1's newest one, and V1's dunning went to V2.)"""
    linked = {k for pair in pairs for k in pair}
    kinds = [kind for kind in ("email", "phone") if contact.get(kind) and (k := contact_key(contact, kind))
             and k in dropped and k in linked]
    return {**contact, REFUSED_KINDS: " ".join(kinds)} if kinds else contact
