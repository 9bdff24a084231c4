"""Finding raw email addresses and phone numbers in free text: masking them (:func:`mask_pii`, for dead letters,
field warnings and logs) or replacing them by keyed hashes (:func:`pseudonymize`, for identifiers and other values
that must stay distinct and stable, such as event ids).

What counts as PII, whatever its spelling (issue 23.5: "bare-digit phones and ``%40``-encoded emails survive"):

* **emails**: ``local@domain`` tokens, also written URL-encoded (``ann%40x.com``, ``%2540`` double-encoded, ``+``
  or ``%20`` for spaces), as HTML character references (``&#64;``, ``&#x40;``, ``&commat;``), as JSON/Python
  escapes (``\\u0040``, ``\\x40``), with compatibility characters (full-width ``＠``, NFKC-folded) and with a
  bracketed ``[at]`` / ``(at)`` / ``{at}`` (``[dot]``) obfuscation;
* **phones**: international numbers (``+`` then digits and separators), formatted national numbers
  (``(415) 555-0134``, ``415.555.0134``, ``020 7946 0958``), and any other run of 7-15 digits with or without
  separators (``4155550134``, ``06 12 34 56 78``, ``0044 20 7946 0958``, ``tel:`` URIs) that ``phonenumbers``
  accepts as a valid number — internationally (``+`` prepended, ``00`` read as ``+``) or in one of
  :data:`REGIONS` (bare digits more strictly, see :func:`_is_phone`).  The validity check keeps epoch times,
  amounts and ordinary ids (``ORD-00000023``, ``1790812850038``, ``987654321``) readable: they are not valid
  numbers where they could be meant.

Decoded forms are searched too; when a hidden address is found, the *decoded* text (masked) is returned, else the
text is returned as it was with only its plain addresses masked (so ordinary outputs are unchanged).
Not covered (documented limits): base64 or otherwise encrypted/compressed text, spelled-out obfuscations without
brackets (``ann at x dot com``), digits written as words.
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import phonenumbers

__all__ = ["REGIONS", "contains_pii", "decode", "mask_pii", "mask_record", "pseudonymize"]

# The lookbehind lets a match start only where a token starts: the same matches, in linear time (without it a long
# token with no "@" -- a base64 blob in a 64 KiB dead-letter payload -- costs quadratic time, about a minute).
_EMAIL_RE = re.compile(r"(?<![^\s\"'<>,;:@])[^\s\"'<>,;:@]+@[^\s\"'<>,;:@]+")
# Always masked, valid or not: international numbers (+CC ...) and formatted national ones ((415) 555-0134,
# 415-555-0134, 020 7946 0958).
_PHONE_RE = re.compile(r"\+\d[\d\s().-]{6,}\d|\(?\b\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{4}\b")
# Candidates checked with phonenumbers: digit runs with optional separators, not part of a word, a decimal or a
# longer number.
_CANDIDATE_RE = re.compile(r"(?<![\w.,/])(?:\+|00)?\(?\d(?:[ ().\-/]{0,2}\d){6,16}(?![\w:-]|[.,/]\d)")
# UUIDs (anonymous ids) have all-digit groups now and then: never phones.
_UUID_RE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# Dates and times are digit runs with separators too: never phones.
_DATE_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b")
#: Regions whose national numbers count as phones in free text (besides international ``+``/``00`` numbers).
REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "BR", "ES", "IT", "NL", "AU", "MX", "JP")
# Checking a candidate costs ~50 us per region: beyond this many candidates in one text, the rest are masked
# unchecked (fail safe).
_MAX_CHECKED = 2000

_MARKERS = re.compile(r"%[0-9A-Fa-f]{2}|&#|&[a-z]+;|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|[\[({]\s*(?:at|dot)\s*[\])}]"
                      r"|[^\x00-\x7f]", re.IGNORECASE)

# The same patterns written so that every match starts with one character class (the regular-expression engine
# then skips ahead to the next character that can start one instead of trying a match at every position): what
# the character consumed was is checked by a lookbehind.  Identical matches (``tests/stages/test_pii_masking.py``
# compares them on generated texts): ``\(?\b\d`` is ``\(\d`` or a digit not preceded by a word character
# (``\d(?<!\w\d)``), the lookbehind before the first character is a two-character one after it, and the branches
# keep the original order of trial.
_PHONE_SCAN = re.compile(r"[+(\d](?:(?<=\+)\d[\d\s().-]{6,}\d|(?<=\()\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{4}\b"
                         r"|(?<!\w\d)(?<=\d)\d{1,3}\)?[\s.-]\d{3,4}[\s.-]\d{4}\b)")
_CANDIDATE_SCAN = re.compile(r"[+0(\d](?<![\w.,/][+0(\d])(?:(?<=\+)\(?\d|(?<=0)0\(?\d|(?<=\()\d|(?<=\d))"
                             r"(?:[ ().\-/]{0,2}\d){6,16}(?![\w:-]|[.,/]\d)")
# Every _PHONE_SCAN match holds "+", a digit and 7 more of [\d\s().-] (the international branch) or 3 digits, a
# separator and 4 digits (the formatted ones): a text with neither has no match, found by two cheap searches (a
# literal "+" first; a separator, then its digits behind and ahead) instead of trying the scan at every digit.
_PHONE_HINT_PLUS = re.compile(r"\+\d[\d\s().-]{7}")
_PHONE_HINT_GROUPS = re.compile(r"[\s.-](?<=\d{3}[\s.-])\d{4}")
# _MARKERS for an ASCII text (a non-ASCII character is a marker itself), case spelled out: see _has_markers
_MARKERS_ASCII = re.compile(r"[%&\\\[({](?:(?<=%)[0-9A-Fa-f]{2}|(?<=&)#|(?<=&)[a-zA-Z]+;|(?<=\\)[uU][0-9A-Fa-f]{4}"
                            r"|(?<=\\)[xX][0-9A-Fa-f]{2}|(?<=[\[({])\s*(?:[aA][tT]|[dD][oO][tT])\s*[\])}])")


def _has_markers(text: str) -> bool:
    """``_MARKERS.search(text) is not None``, faster: any non-ASCII character, else :data:`_MARKERS_ASCII`."""
    return not text.isascii() or _MARKERS_ASCII.search(text) is not None
_ESCAPE_RE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})")
_AT_RE = re.compile(r"\s*[\[({]\s*at\s*[\])}]\s*", re.IGNORECASE)
_DOT_RE = re.compile(r"\s*[\[({]\s*dot\s*[\])}]\s*", re.IGNORECASE)


@functools.lru_cache(maxsize=65536)
def _is_phone(candidate: str) -> bool:
    """A digit run (with separators) that ``phonenumbers`` accepts as a valid number (see the module docstring).

    Bare digits (no separator, no ``+``/``00``) are read more strictly, because most bare numbers are ids, times
    and amounts: 10 digits valid in the US, 11-15 digits valid as an international number, or 9+ digits with a
    national trunk ``0`` valid in one of :data:`REGIONS`."""
    digits = "".join(ch for ch in candidate if ch.isdigit())
    if not 7 <= len(digits) <= 17:
        return False
    text = candidate.strip()
    if _DATE_RE.match(text):
        return False
    intl = "+" + (digits[2:] if text.startswith("00") else digits)
    if text.startswith(("+", "00")):
        tries = [(intl, None)]
    elif text.isdigit():
        tries = [(intl, None)] if len(digits) >= 11 else []
        if len(digits) == 10:
            tries.append((text, "US"))
        if text.startswith("0") and len(digits) >= 9:
            tries += [(text, r) for r in REGIONS]
    else:
        tries = [(intl, None), *((text, r) for r in REGIONS)]
    for number, region in tries:
        if region is None and number[1:2] == "0":
            continue  # "+0…": no country calling code starts with 0 (ITU-T E.164): phonenumbers refuses it
        try:
            if is_valid_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


@functools.lru_cache(maxsize=None)
def _valid_lengths(country_code: int) -> frozenset[int] | None:
    """The lengths a valid national significant number of ``country_code`` can have: the union of the possible
    lengths of its regions' general descriptions (a non-geographic code's own); None when one of them lists none
    (then no length is excluded)."""
    lengths: set[int] = set()
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
        desc = metadata.general_desc if metadata is not None else None
        if desc is None:
            continue  # (phonenumbers: a number never matches a missing description)
        if not desc.possible_length:
            return None
        lengths.update(desc.possible_length)
    return frozenset(lengths)


def is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    """``phonenumbers.is_valid_number(number)``, answered False at once when the national significant number's
    length is none its country code's regions allow (:func:`_valid_lengths`): ``is_valid_number`` requires the
    length to be one of the chosen region's general description (``_number_type_helper`` ->
    ``_is_number_matching_desc``), and for a calling code of many regions (``+1``: 25) it tries each, ~30 µs for
    an epoch time read as ``+1`` and 12 digits.  The same answer for every number (tests/stages/test_pii_masking.py)."""
    lengths = _valid_lengths(number.country_code)
    if lengths is not None and len(phonenumbers.national_significant_number(number)) not in lengths:
        return False
    return phonenumbers.is_valid_number(number)


def _replace_phones(text: str, replace: Callable[[str, str], str], keep_uuids: bool) -> str:
    # the UUIDs' spans are found on the first match only (most texts have none): the same spans, of the same text
    if _PHONE_HINT_GROUPS.search(text) is None and ("+" not in text or _PHONE_HINT_PLUS.search(text) is None):
        pass  # no _PHONE_SCAN match (see _PHONE_HINT_PLUS): the text as it is
    elif keep_uuids and "-" in text:
        spans: list[tuple[int, int]] | None = None
        before = text

        def formatted(m: re.Match) -> str:
            nonlocal spans
            if spans is None:
                spans = [u.span() for u in _UUID_RE.finditer(before)]
            if any(a <= m.start() < b for a, b in spans):
                return m.group(0)
            return replace("phone", m.group(0))

        text = _PHONE_SCAN.sub(formatted, text)
    else:
        text = _PHONE_SCAN.sub(lambda m: replace("phone", m.group(0)), text)
    uuids: list[tuple[int, int]] | None = None if "-" in text else []
    scanned = text
    checked = 0

    def candidate(m: re.Match) -> str:
        nonlocal checked, uuids
        if uuids is None:
            uuids = [u.span() for u in _UUID_RE.finditer(scanned)]
        if uuids and any(a <= m.start() < b for a, b in uuids):
            return m.group(0)
        checked += 1
        if checked > _MAX_CHECKED or _is_phone(m.group(0)):
            return replace("phone", m.group(0))
        return m.group(0)

    return _CANDIDATE_SCAN.sub(candidate, text)


def _replace_plain(text: str, replace: Callable[[str, str], str], keep_uuids: bool) -> str:
    if "@" in text:  # every email match holds one
        text = _EMAIL_RE.sub(lambda m: replace("email", m.group(0)), text)
    return _replace_phones(text, replace, keep_uuids)


def decode(text: str) -> str:
    """``text`` with URL-encoding (up to three levels), HTML references, ``\\u``/``\\x`` escapes, compatibility
    characters and bracketed at/dot obfuscations decoded."""
    out = text
    for _ in range(3):
        nxt = unquote(out)
        if nxt == out:
            break
        out = nxt
    out = html.unescape(out)
    out = _ESCAPE_RE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), out)
    out = unicodedata.normalize("NFKC", out)
    return _DOT_RE.sub(".", _AT_RE.sub("@", out))


def _cannot_hold_pii(text: str) -> bool:
    """True when no pattern of this module can match ``text``: an email needs an ``@`` (or, encoded, a
    :data:`_MARKERS` spelling), an international phone a ``+``, every other phone pattern at least 7 digits.  The
    common case (ids, SKUs, short values) then skips the regular expressions."""
    if "@" in text or "+" in text:
        return False
    # digits: str.isdigit's, which in an ASCII text are 0-9 (the bytes bytes.translate deletes: one pass, in C)
    digits = (len(text) - len(text.encode().translate(None, b"0123456789")) if text.isascii()
              else sum(map(str.isdigit, text)))
    return digits < 7 and not _has_markers(text)


def _apply(text: str, replace: Callable[[str, str], str], keep_uuids: bool = False) -> str:
    if _cannot_hold_pii(text):
        return text
    done = _replace_plain(text, replace, keep_uuids)
    if _has_markers(done):
        decoded = decode(done)
        if decoded != done:
            again = _replace_plain(decoded, replace, keep_uuids)
            if again != decoded:
                return again
    return done


def _mask(kind: str, _value: str) -> str:
    return f"<{kind}>"


def mask_pii(text: str) -> str:
    """``text`` with every email address and phone number (in any spelling the module docstring lists) replaced by
    ``<email>`` / ``<phone>``.  Free text is masked generously: a formatted run such as a UUID's all-digit middle
    groups (``…-4123-8123-…``) is masked too, as it always was; ids use :func:`pseudonymize` /
    ``contains_pii(keep_uuids=True)``, which leave UUIDs whole."""
    return _apply(text, _mask)


def contains_pii(text: str, keep_uuids: bool = False) -> bool:
    """True when :func:`mask_pii` would change ``text``; ``keep_uuids``: a UUID's all-digit groups
    (``63ef3148-4123-8123-…``) never count (for ids)."""
    return _apply(text, _mask, keep_uuids) != text


def pseudonymize(text: str, digest: Callable[[str, str], str]) -> str:
    """``text`` with every email address and phone number replaced by ``<kind>~<digest(kind, value)>``
    (``digest``: normally ``Hasher.digest``, a keyed HMAC; the value is lower-cased and stripped of separators
    first, so spellings of one address give one token).  Distinct addresses stay distinct and the result is
    stable under one key: ids keep working as ids (de-duplication, joins) without the address.  UUIDs are left
    whole."""
    def replace(kind: str, value: str) -> str:
        norm = value.strip().lower() if kind == "email" else "".join(ch for ch in value if ch.isdigit())
        return f"{kind}~{digest(kind, norm)[:16]}"

    return _apply(text, replace, keep_uuids=True)


_PII_FIELDS = {"email": "<email>", "phone": "<phone>"}


def mask_record(rec: Any) -> Any:
    """A copy of a decoded record (a dict) with the values of its identifier fields (``email``, ``phone``) masked,
    whatever their format (a dead letter's payload); anything else as it is."""
    if isinstance(rec, dict):
        return {k: (_PII_FIELDS[k] if k in _PII_FIELDS and v not in (None, "") else v) for k, v in rec.items()}
    return rec
