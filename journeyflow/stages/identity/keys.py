"""Identifier keys: kinds and their rank, normalization, keyed hashing of PII, per-kind counts.

Every identifier becomes a string key ``"<kind>:<value>"``. Kinds are ranked ``crm`` (0) < ``email`` (1) < ``phone``
(2) < ``anon`` (3), and :func:`rank_key` orders keys by ``(kind rank, key)``. The canonical id of a customer is the
minimum of its keys in that order: its CRM id if it has one, else its smallest hashed email, then phone, then
anonymous id.

* CRM ids and anonymous ids are not PII: ``crm:<id stripped>`` and ``anon:<id stripped>`` (stripped of surrounding
  whitespace, invisible format characters and one pair of surrounding quotes -- ``"C-7"`` with its quotes, as a CSV
  export keeps them, is ``C-7`` -- and kept as given otherwise: ids are machine-made and compared exactly), at most
  :data:`MAX_ID_CHARS` (256) characters once stripped: a longer one (a 5,000-character "id": a whole payload or a
  token pasted into the field) is refused, as it would be a customer id in every table and a Bigtable row key (4 KB
  limit); so is a placeholder a program writes for a missing id (``undefined``, ``null``, ``None``, ``[object
  Object]``: :data:`PLACEHOLDER_IDS`), which made one customer of every device whose user id was unset.  Emails and
  phones are bounded by their own rules (254 characters for an address, RFC 5321; E.164 for a number), and a value
  longer than :data:`MAX_RAW_CHARS` as written (998: an RFC 5322 line) is refused before it is parsed or cached.
* Emails are PII. :func:`normalize_email` trims the value, applies Unicode NFKC, and checks and normalizes it with
  ``email-validator`` (RFC 5321/5322/6531 syntax, no DNS look-up): every spelling of one address gives one key.
  **Merged**: letter case of the whole address (``Ann.Lee@Example.COM`` = ``ann.lee@example.com``; local parts are
  case-folded because every large provider treats them so, and journeyflow always did), Unicode normalization forms
  and compatibility forms (NFKC: a composed and a decomposed ``ö`` are one address, so are full-width ``ａｎｎ`` and
  ``ann`` -- RFC 8265's width mapping -- and a PDF's ligature ``ﬁ`` and ``fi``), internationalized domain names in
  Unicode or ASCII (``ann@münchen.de`` = ``ann@xn--mnchen-3ya.de`` = ``ANN@MÜNCHEN.DE``; the key and the delivery
  address use the ASCII form, IDNA 2008 with UTS #46 mapping, which also folds full-width domain characters),
  surrounding whitespace, invisible format characters where the address is refused with them (``ann@x.com`` + a
  zero-width space) or an at-sign typed full-width (``＠``). **Not merged**: plus-addressing (``ann+news@x.com`` stays
  distinct from ``ann@x.com`` unless ``Hasher(merge_plus_addresses=True)`` / ``--merge_plus_addresses``), dots or
  other provider-specific rules (gmail's dot removal is only true at gmail and would merge different people
  elsewhere). A ``mailto:`` URI and a display-name form (``Ann Lee <ann@x.com>``) are read as the address they hold.
  Rejected as invalid: quoted local parts, IP-literal domains, special-use domains (``.test``, ``.local``,
  ``.invalid``, ``localhost``), consecutive dots, domains without a dot. The key is ``email:<hex>``; for ASCII
  addresses the hashed text is exactly the trimmed, lower-cased address, as before this normalization.
* Phones are PII: parsed with ``phonenumbers`` using a default region (``"US"`` unless configured), required to be
  both possible and valid, formatted as E.164; the key is ``phone:<hex>``. **Merged**: national and international
  spellings of one number as ``phonenumbers`` reads them (``(415) 555-0134`` with region US = ``+1 415 555 0134`` =
  ``001 415 555 0134`` with region GB), separators, ``tel:`` URIs, non-ASCII digits and NFKC forms (full-width,
  sub/superscript ``₁``), the ``00`` international prefix in a region whose own prefix differs (``0044 20 7946 0958``
  with region US is +44 20 7946 0958: tried only when the region's own reading is not a valid number); an extension
  (``ext. 12``) is not part of E.164, so a desk's extensions share the number's key. **Not merged**: a national
  number read with the wrong default region (``020 7946 0958`` with region US is not a valid number: it is rejected,
  never guessed; the reason names the region it was read in, ``phone is not a possible number in region US (written
  without +<country code>)``, so the fix -- the number's ``+44``, or ``--default_region`` -- is plain).

``<hex>`` is the first 32 hex characters (128 bits) of ``HMAC-SHA256(key, "<kind>:" + normalized)``. The HMAC key
comes from :class:`Hasher`; :meth:`Hasher.from_env` reads ``JOURNEYFLOW_HASH_KEY`` and falls back to the documented
local-development key ``b"journeyflow-local-dev-key"`` (logging a WARNING once; the key itself is never logged). Raw
PII never appears in a key, in an exception message or in ``repr``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from journeyflow.stages.identity.keyed_hash import keyed_sha256
from journeyflow.stages.identity.phone_checks import number_problem
from journeyflow.stages.json_text import whole_digits

__all__ = ["ANON", "CRM", "Counts", "DEFAULT_HASH_KEY", "EMAIL", "HASH_KEY_ENV", "KINDS", "MAX_ID_CHARS",
           "MAX_RAW_CHARS", "PHONE", "PLACEHOLDER_IDS", "Hasher", "InvalidIdentifier", "Kind", "add_counts",
           "anon_key", "bounded_event_id", "canonical", "crm_key", "is_placeholder", "kind_index", "kind_of",
           "normalize_email", "rank_key", "singleton_counts", "event_id_text", "without_format_chars"]

logger = logging.getLogger(__name__)
# phonenumbers keeps its compiled metadata patterns (its own switch, in the versions that have it): else it looks each
# one up by its text through the re module's bounded cache on every match (~10% of a number's check, same answers)
getattr(phonenumbers, "enable_pattern_cache", lambda: None)()

CRM, EMAIL, PHONE, ANON = "crm", "email", "phone", "anon"
#: Identifier kinds in rank order (index == rank).
KINDS: tuple[str, ...] = (CRM, EMAIL, PHONE, ANON)
_RANK: dict[str, int] = {kind: rank for rank, kind in enumerate(KINDS)}
#: An identifier kind (the prefix of a key).
Kind = Literal["crm", "email", "phone", "anon"]

#: Per-component counts by kind, in :data:`KINDS` order.
Counts = tuple[int, int, int, int]
_ONE_HOT: tuple[Counts, ...] = ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))

#: Environment variable holding the HMAC key (UTF-8) used to hash emails and phones.
HASH_KEY_ENV = "JOURNEYFLOW_HASH_KEY"  # = secret.HASH_KEY_ENV
#: Documented local-development HMAC key. Never use it for real data: anyone can recompute the hashes.
DEFAULT_HASH_KEY = b"journeyflow-local-dev-key"
_HEX_CHARS = 32
#: Longest CRM or anonymous id, characters after stripping (keys are customer ids and identity-graph row keys).
MAX_ID_CHARS = 256
#: Words a program writes where an id is missing (any letter case): JavaScript's ``String(undefined)``,
#: ``String(null)``, ``String({})`` and ``NaN``, Python's ``str(None)``, Ruby's ``nil``, a spreadsheet's ``N/A`` /
#: ``#N/A``, and the nil UUID (RFC 9562 §5.9: what iOS returns for the advertising id when ad tracking is limited,
#: used as a device id by some apps; also without hyphens), Objective-C's ``(null)`` (a ``nil`` formatted) and
#: ``<null>`` (``NSNull``), Go's ``<nil>``, JavaScript's ``[object Undefined]`` / ``[object Null]``
#: (``Object.prototype.toString``).  As ids they made one customer of every device whose id was unset
#: (``crm:undefined``): refused.
PLACEHOLDER_IDS = frozenset({"undefined", "null", "none", "nil", "nan", "[object object]", "n/a", "#n/a",
                             "00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000", "(null)",
                             "<null>", "(nil)", "<nil>", "[object undefined]", "[object null]"})
_PLACEHOLDER_STARTS = frozenset(c for w in PLACEHOLDER_IDS for c in (w[0], w[0].upper()))
#: Longest email or phone value as written (an RFC 5322 line, 998 characters): longer ones are refused unparsed.
MAX_RAW_CHARS = 998


# ---------------------------------------------------------------------------------------------------------------
# Keys, ranks and per-kind counts
# ---------------------------------------------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """The kind of an identifier key (the part before the first ``:``); not validated."""
    return key.partition(":")[0]


def kind_index(key: str) -> int:
    """Rank of the key's kind (crm=0, email=1, phone=2, anon=3); ValueError for an unknown kind."""
    try:
        return _RANK[key.partition(":")[0]]
    except KeyError:
        raise ValueError(f"unknown identifier kind {key.partition(':')[0]!r}") from None


def rank_key(key: str) -> tuple[int, str]:
    """Sort key for identifier keys: ``(kind rank, key)``; ValueError for an unknown kind."""
    return (kind_index(key), key)


def canonical(keys: Iterable[str]) -> str:
    """The canonical id of a set of keys: the minimum by :func:`rank_key`. ValueError if empty."""
    return min(keys, key=rank_key)


def singleton_counts(key: str) -> Counts:
    """Per-kind counts of a component holding only ``key`` (validates the kind: ValueError if unknown)."""
    return _ONE_HOT[kind_index(key)]


def add_counts(a: Sequence[int], b: Sequence[int]) -> Counts:
    """Per-kind counts of the union of two disjoint components with counts ``a`` and ``b``."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


# ---------------------------------------------------------------------------------------------------------------
# Normalization and hashing
# ---------------------------------------------------------------------------------------------------------------


class InvalidIdentifier(ValueError):
    """An identifier that cannot be normalized. The message never contains the raw value (it may be PII).

    ``kind``: the identifier kind; ``reason``: the message (e.g. ``"email is not a valid address: too long"``).
    """

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def __reduce__(self):  # picklable (Beam dead-letter outputs may carry it)
        return (type(self), (self.kind, self.reason))


def without_format_chars(text: str) -> str:
    """``text`` without Unicode format characters (general category ``Cf``: zero-width space/joiners, the byte
    order mark U+FEFF, soft hyphen, word joiner, bidirectional marks and embeddings).  They are invisible: an id or
    an address copied from a web page, a spreadsheet or a right-to-left UI carries them unseen, and the same id
    with and without one must be one key (else a customer splits in two and an opt-out misses its address)."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def event_id_text(raw: str) -> str:
    """An event id (the de-duplication key: ``event_id``, a Segment ``messageId``) as one spelling: surrounding
    whitespace and invisible format characters removed (:func:`without_format_chars`), as for customer ids -- a
    redelivery whose id was re-exported with a zero-width space or a padded column is the same event, not a second
    one.  The result may be empty (the caller refuses the record: an empty id names nothing)."""
    return without_format_chars(raw).strip()


def is_placeholder(text: str) -> bool:
    """True when ``text`` (stripped) is one of :data:`PLACEHOLDER_IDS` (any letter case)."""
    return text[:1] in _PLACEHOLDER_STARTS and len(text) <= 36 and text.casefold() in PLACEHOLDER_IDS


def bounded_event_id(eid: str, record: Any, digest: Callable[[str, str], str]) -> str:
    """``eid`` (an event id as :func:`event_id_text` spells it), or a stand-in when it cannot be a de-duplication
    key: one longer than :data:`MAX_ID_CHARS` is ``h-<keyed hash of it>`` (bounded in state and tables; the same id
    gives the same stand-in, so redeliveries still de-duplicate); a placeholder (``"undefined"``, ``"null"``:
    :func:`is_placeholder`), which made every later event of a customer a ``duplicate_event``, is
    ``c-<keyed hash of the record>`` (``record``'s canonical JSON: each record its own id, a redelivery the same).
    ``digest``: :meth:`Hasher.digest`."""
    if len(eid) > MAX_ID_CHARS:
        return "h-" + digest("event", eid)
    if is_placeholder(eid):
        return "c-" + digest("event", json.dumps(record, sort_keys=True, ensure_ascii=False, default=str))
    return eid


def _strip_id(kind: str, raw: object) -> str:
    if raw is None:
        raise InvalidIdentifier(kind, f"{kind} id is empty")
    # invisible format characters are not part of an id (:func:`without_format_chars`: "C-1" pasted with a
    # zero-width space is the customer "C-1", not a second one)
    value = without_format_chars(raw if isinstance(raw, str) else str(raw)).strip()
    if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0] and value.count(value[0]) == 2:
        value = value[1:-1].strip()  # inside one pair of quotes: a CSV column's quotes kept (as for emails)
    if not value:
        raise InvalidIdentifier(kind, f"{kind} id is empty")
    if len(value) > MAX_ID_CHARS:
        raise InvalidIdentifier(kind, f"{kind} id is longer than {MAX_ID_CHARS} characters ({len(value)})")
    if is_placeholder(value):
        raise InvalidIdentifier(kind, f"{kind} id {value!r} is a placeholder for a missing id, not an id")
    return value


def crm_key(raw: object) -> str:
    """``crm:<id stripped>`` (CRM ids are not PII; surrounding whitespace and invisible format characters removed);
    :class:`InvalidIdentifier` when empty or longer than :data:`MAX_ID_CHARS`.  An id written as journeyflow's own
    key (a customer id copied from a table or the audit topic: ``crm:C1``, ``anon:d1``, ``email:<32 hex>``) is that
    key (:func:`_as_key`): an opt-out by customer id was the id ``crm:crm:C1`` of nobody and blocked no one."""
    return _as_key(CRM, _strip_id(CRM, raw))


def anon_key(raw: object) -> str:
    """``anon:<id stripped>`` (anonymous/device ids are not PII; surrounding whitespace and invisible format
    characters removed); :class:`InvalidIdentifier` when empty or longer than :data:`MAX_ID_CHARS`; an id written as
    journeyflow's own key is that key (as :func:`crm_key`)."""
    return _as_key(ANON, _strip_id(ANON, raw))


_OWN_KEY = re.compile(r"(crm|anon):(.*)|(?:email|phone):[0-9a-f]{32}", re.DOTALL)


def _as_key(kind: str, value: str) -> str:
    m = _OWN_KEY.fullmatch(value) if value[:1] in "caep" else None
    if m is None:
        return f"{kind}:{value}"
    return f"{m[1]}:{_strip_id(m[1], m[2])}" if m[1] else value


def normalize_email(raw: str, merge_plus_addresses: bool = False) -> str:
    """The one spelling of an email address that journeyflow hashes and delivers to (rules in the module docstring).

    ``raw``: the address as written.  Returns ``local@ascii-domain`` with the local part NFKC-normalized and
    lower-cased (and its ``+tag`` removed when ``merge_plus_addresses``).  Raises :class:`InvalidIdentifier` (the
    message never holds the address) when ``email-validator`` rejects it or it is longer than 254 characters.
    Syntax rules: RFC 5321/5322 and RFC 6531/6532 as implemented by ``email-validator`` (no DNS look-up).

    A plain ASCII address (dot-atom local part of letters, digits, ``_ + -``; a domain of letters, digits, dots and
    single hyphens) has only its domain checked by ``email-validator``, once per domain (:func:`_ascii_domain`):
    the local part of such an address is valid as it is, so the result is the same; anything else, and every
    refusal, takes the full check (property test: tests/stages/test_parse_fast.py).  Surrounding whitespace, which
    the full check strips first, is stripped before the plain-address test too (``" ann@x.com "`` is plain).  A
    value longer than :data:`MAX_RAW_CHARS` is refused at once (the full check took ~0.7 s for a 1 MB one)."""
    if len(raw) > MAX_RAW_CHARS:
        raise InvalidIdentifier(EMAIL, f"email is not a valid address: longer than {MAX_RAW_CHARS} characters")
    simple = _SIMPLE_EMAIL.fullmatch(raw.strip())
    if simple is not None:
        local, domain = simple.groups()
        ascii_domain = _ascii_domain(domain)
        if ascii_domain is not None and len(local) <= 64 and len(local) + 1 + len(ascii_domain) <= 254:
            return _join_email(local.lower(), ascii_domain.lower(), merge_plus_addresses)
    return _normalize_email_full(raw, merge_plus_addresses)


#: a plain ASCII address (no surrounding space: ``raw.strip()`` and NFKC leave it as it is); no ``--`` in the domain
#: (no ``xn--`` labels, whose Unicode form ``email-validator`` also checks)
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_SIMPLE_EMAIL = re.compile(rf"([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)@({_LABEL}(?:\.{_LABEL})*)")


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str | None:
    """``email-validator``'s ASCII form of ``domain`` (checked with the local part ``a``), None when it refuses it.
    The domain check does not depend on the local part (``validate_email`` checks them separately, then the
    total length, which :func:`normalize_email` checks itself)."""
    try:
        return validate_email("a@" + domain, check_deliverability=False).ascii_domain
    except (EmailNotValidError, ValueError):
        return None


def _join_email(local: str, ascii_domain: str, merge_plus_addresses: bool) -> str:
    if merge_plus_addresses:
        head, plus, _tag = local.partition("+")
        if plus and head:
            local = head
    return f"{local}@{ascii_domain}"


def _normalize_email_full(raw: str, merge_plus_addresses: bool = False) -> str:
    """:func:`normalize_email` with every address checked by ``email-validator``."""
    # NFKC (RFC 8265 PRECIS maps width; NFKC also folds ligatures and other compatibility forms): one mailbox
    value = _address_part(unicodedata.normalize("NFKC", raw.strip()))
    if not value:
        raise InvalidIdentifier(EMAIL, "email is empty")
    try:
        info = validate_email(value, check_deliverability=False)
    except (EmailNotValidError, ValueError) as e:  # ValueError: e.g. lone surrogates the IDNA codec refuses
        # invisible format characters (a zero-width space or BOM pasted with the address) are not part of it: an
        # address refused only because of them is the address without them (one valid as given is left as it is:
        # IDNA lets a joiner stand in some scripts' domain labels)
        # so is an at-sign typed in its full-width or small form (an East Asian input method's "＠", "﹫"), which
        # email-validator names and refuses: the separator, not a character of the local part
        bare = without_format_chars(raw).replace("\uff20", "@").replace("\ufe6b", "@")
        if bare != raw and bare.strip():
            return _normalize_email_full(bare, merge_plus_addresses)
        raise InvalidIdentifier(EMAIL, f"email is not a valid address: {_safe_reason(str(e))}") from None
    local = unicodedata.normalize("NFKC", info.local_part.lower())
    normalized = _join_email(local, info.ascii_domain.lower(), merge_plus_addresses)
    if len(normalized) > 254:
        raise InvalidIdentifier(EMAIL, "email is not a valid address: too long")
    return normalized


_MAILTO = re.compile(r"mailto:", re.IGNORECASE)


def _address_part(value: str) -> str:
    """The address of a ``mailto:`` URI (RFC 6068: ``mailto:ann@x.com``, its ``?headers`` dropped) or of a
    display-name form (RFC 5322 ``name-addr``: ``Ann Lee <ann@x.com>``, read by ``email.utils.parseaddr``), as
    CRMs and ESP webhooks write them; ``value`` itself otherwise (one address only: a list is left to be refused).
    Also as exports write it: inside one pair of quotes (a CSV column's quotes kept, ``"ann@x.com"``; a quoted local
    part, ``"ann lee"@x.com``, is not such a pair), and with the DNS root's trailing dot (``ann@x.com.``: the
    same domain, RFC 1034 §3.1)."""
    if len(value) > 2 and value[0] == value[-1] and value[0] in "\"'" and value.count(value[0]) == 2:
        value = value[1:-1].strip()
    if _MAILTO.match(value):
        value = value[7:].partition("?")[0].strip()
    if value.endswith(">") and "<" in value and value.count("@") == 1:
        _name, addr = email.utils.parseaddr(value)
        if addr:
            value = addr.strip()
    if value.endswith(".") and not value.endswith("..") and "@" in value:
        value = value[:-1]
    return value


def _safe_reason(message: str) -> str:
    """email-validator's explanation without quoted fragments of the address (which may be PII)."""
    return re.sub(r"'[^']*'|\([^)]*\)", "…", message)[:160]


#: "00" opening a number: the international call prefix of most of the world (ITU-T E.164 recommends it), written
#: so by people and systems outside the region configured (its own prefix may differ: 011 in North America).
_INTL_00 = re.compile(r"(?:tel:)?\s*00\s*(?=[1-9])", re.IGNORECASE)
#: a number written with its country code (``+44 ...``, ``tel:+44...``, a full-width plus): read in no region
_PLUS = re.compile(r"(?:tel:)?\s*[+\uff0b]", re.IGNORECASE)
_UNPARSEABLE = "phone is not a parseable number"


def _valid_number(value: str, region: str) -> tuple[phonenumbers.PhoneNumber | None, str]:
    """``(number, "")`` when ``phonenumbers`` reads ``value`` in ``region`` as a possible and valid number, else
    ``(None, problem)``."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, _UNPARSEABLE
    problem = number_problem(number)  # (is_possible_number, is_valid_number: once per number, identity.phone_checks)
    return (None, problem) if problem else (number, "")


class Hasher:
    """Normalizes PII identifiers and hashes them with a keyed HMAC-SHA256.

    ``key``: non-empty bytes; ``default_region``: a ``phonenumbers`` region code (ValueError otherwise).
    Results are cached per instance (bounded LRU of ``cache_size`` entries per kind; identical raw values recur a
    lot). Instances are picklable (the caches are rebuilt empty) so they can be handed to Beam DoFns; the key
    never appears in ``repr``.
    """

    def __init__(self, key: bytes, default_region: str = "US", cache_size: int = 65536,
                 merge_plus_addresses: bool = False):
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("hash key must be non-empty bytes")
        region = default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {default_region!r}")
        self._key = bytes(key)
        self.default_region = region
        self.merge_plus_addresses = bool(merge_plus_addresses)
        self._cache_size = cache_size
        self._init_caches()

    @classmethod
    def from_env(cls, default_region: str = "US", **kwargs: Any) -> Hasher:
        """Key from env ``JOURNEYFLOW_HASH_KEY`` (UTF-8), else :data:`DEFAULT_HASH_KEY` with a one-time WARNING
        (:func:`journeyflow.stages.identity.secret.key_from_env`)."""
        from journeyflow.stages.identity.secret import key_from_env

        return cls(key_from_env(), default_region, **kwargs)

    # -- caches / pickling ----------------------------------------------------------------------------------
    def _init_caches(self) -> None:
        self._mac = keyed_sha256(self._key)
        self._email_cached = functools.lru_cache(maxsize=self._cache_size)(self._email_uncached)
        self._phone_cached = functools.lru_cache(maxsize=self._cache_size)(self._phone_uncached)

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self._key, "default_region": self.default_region, "cache_size": self._cache_size,
                "merge_plus_addresses": self.merge_plus_addresses}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._key = state["key"]
        self.default_region = state["default_region"]
        self._cache_size = state["cache_size"]
        self.merge_plus_addresses = state.get("merge_plus_addresses", False)
        self._init_caches()

    def __repr__(self) -> str:
        return f"Hasher(key=<redacted>, default_region={self.default_region!r})"

    # -- hashing --------------------------------------------------------------------------------------------
    def digest(self, kind: str, normalized: str) -> str:
        """First 32 hex chars of ``HMAC-SHA256(key, kind + ":" + normalized)``."""
        mac = self._mac.copy()
        mac.update(f"{kind}:{normalized}".encode())
        return mac.hexdigest()[:_HEX_CHARS]

    def _email_uncached(self, raw: str) -> tuple[str | None, str]:
        try:
            value = normalize_email(raw, self.merge_plus_addresses)
        except InvalidIdentifier as e:
            return None, e.reason
        return f"email:{self.digest(EMAIL, value)}", value

    def _phone_uncached(self, raw: str, region: str) -> tuple[str | None, str]:
        value = (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip()
        if not value:
            return None, "phone is empty"
        number, problem = _valid_number(value, region)
        if number is None:
            intl = _INTL_00.match(value)
            if intl is not None:  # "0044 20 7946 0958" where 00 is not the region's international prefix (US)
                number, _ = _valid_number("+" + value[intl.end():], region)
            if number is None:
                if intl is None and problem != _UNPARSEABLE and not _PLUS.match(value):
                    # read as a national number: say in which region, never guess another (a trunk 0 is no hint:
                    # most of the world dials one)
                    problem += f" in region {region} (written without +<country code>)"
                return None, problem
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return f"phone:{self.digest(PHONE, e164)}", e164

    def email(self, raw: object) -> tuple[str, str]:
        """``(key, normalized)`` for an email; raises :class:`InvalidIdentifier`."""
        if not isinstance(raw, str):
            raise InvalidIdentifier(EMAIL, "email is empty" if raw is None else "email is not a string")
        if len(raw) > MAX_RAW_CHARS:  # refused before the cache: it must not hold megabytes of such values
            raise InvalidIdentifier(EMAIL, f"email is not a valid address: longer than {MAX_RAW_CHARS} characters")
        key, normalized = self._email_cached(raw)
        if key is None:
            raise InvalidIdentifier(EMAIL, normalized)
        return key, normalized

    def phone(self, raw: object, region: str | None = None) -> tuple[str, str]:
        """``(key, e164)`` for a phone number parsed with ``region`` (default: the hasher's default region).

        Ints and whole floats up to 2**53 (``stages.json_text.whole_digits``) are accepted as digit strings; raises :class:`InvalidIdentifier`."""
        if raw is None:
            raise InvalidIdentifier(PHONE, "phone is empty")
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        elif raw.__class__ is float:
            raw = whole_digits(raw)  # (14155550134.0: a pandas export; None beyond 2**53)
        if not isinstance(raw, str):
            raise InvalidIdentifier(PHONE, "phone is not a string")
        if len(raw) > MAX_RAW_CHARS:  # refused before the cache (phonenumbers refuses over 250 characters anyway)
            raise InvalidIdentifier(PHONE, f"phone is not a parseable number: longer than {MAX_RAW_CHARS} characters")
        region = self.default_region if region is None else region.upper()
        key, e164 = self._phone_cached(raw, region)
        if key is None:
            raise InvalidIdentifier(PHONE, e164)
        return key, e164

    crm_key = staticmethod(crm_key)
    anon_key = staticmethod(anon_key)

    def cache_info(self) -> dict[str, Any]:
        """``{"email": ..., "phone": ...}``: the ``functools`` cache statistics of each normalizer."""
        return {"email": self._email_cached.cache_info(), "phone": self._phone_cached.cache_info()}
