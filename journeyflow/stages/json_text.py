"""JSON text of input records: decoding that never raises anything but ``json.JSONDecodeError`` /
``RecursionError`` for bad text (:func:`loads_json`), the nesting depth of a text (:func:`json_depth`, for
:data:`journeyflow.stages.parse.MAX_JSON_DEPTH`), and the lines of a JSONL file (:func:`jsonl_lines`: LF, CRLF and
CR-only line ends).  Pure Python."""
from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any, BinaryIO, Iterable, Iterator

__all__ = ["as_number", "dumps_finite", "json_depth", "jsonl_lines", "loads_json"]

# a decimal numeral as JSON writes a number (sign, digits, fraction, exponent), with surrounding spaces: no "1,234",
# "NaN", "Infinity", hex or "1_000" (Python's float() reads those, and they are not a source's plain number)
_NUMERAL = re.compile(r"\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][-+]?[0-9]+)?\s*")


#: Largest whole float read as an id or a phone: beyond 2**53 a double no longer holds every integer, so the digits
#: a float shows there may not be the id that was written (left to the type check: a dead letter, not a wrong id).
MAX_EXACT_FLOAT = 2 ** 53


def whole_digits(v: Any) -> str | None:
    """The decimal digits of an id written as a JSON integer (not a boolean) or as a whole float that holds it
    exactly (``1001.0``: a pandas column with a missing value is float64, so its exports write every id so; at
    most :data:`MAX_EXACT_FLOAT` in magnitude), else None."""
    if v.__class__ is int:
        return str(v)
    if v.__class__ is float and v.is_integer() and -MAX_EXACT_FLOAT <= v <= MAX_EXACT_FLOAT:
        return str(int(v))
    return None


def as_number(v: Any, whole: bool = False) -> Any:
    """``v`` as a number when it is one written another way, else ``v`` itself (the caller's type check then
    refuses it): a string holding a decimal numeral (``"99.50"``, ``" 4 "``: numbers as strings, as CSV exports,
    PHP backends and tag templates such as ``total: '<%= order.total %>'`` send them) is its ``int`` (no fraction
    nor exponent) or ``float``; with ``whole``, a float with no fractional part (``4.0``, JavaScript's number) is
    its ``int``.  Booleans stay booleans."""
    if isinstance(v, str):
        m = _NUMERAL.fullmatch(v)
        if m is None:
            return v
        if m.group(2) is None and "." not in m.group(1):
            return int(m.group(1))
        v = float(m.group(0))
    if whole and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _huge_int(digits: str) -> int | float:
    """A JSON integer as ``json.loads`` reads it, or, beyond the digits Python converts (4,300 by default:
    ``sys.get_int_max_str_digits``, a guard against quadratic conversion time), an infinity of its sign -- as
    ``json.loads`` reads a float too large for a double (``1e400``): the value is out of every range, and the
    field holding it is checked like any other (an optional amount is dropped with a warning, a ts is a
    bad_timestamp) instead of the record being lost to an exception."""
    try:
        return int(digits)
    except ValueError:
        return float("-inf") if digits.startswith("-") else float("inf")


def loads_json(text: str | bytes) -> Any:
    """``json.loads(text)``, with integers too long for Python's conversion read by :func:`_huge_int` (only tried
    when the plain decode refuses one: ``ValueError`` "Exceeds the limit ... for integer string conversion" is not a
    ``JSONDecodeError``), and every lone surrogate escape (``"\\ud83d"``: JavaScript cutting an emoji in half) read
    as U+FFFD, the replacement character, as a UTF-8 decoder reads an ill-formed sequence (Unicode §3.9): the value
    is then text that can be encoded (a lone surrogate in an id or a key failed Beam's UTF-8 coder: one record
    stopped the pipeline).  Raises ``json.JSONDecodeError`` / ``RecursionError`` for text that is not JSON."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        obj = json.loads(text, parse_int=_huge_int)
    if (b"\\ud" in text or b"\\uD" in text) if isinstance(text, (bytes, bytearray)) else (
            "\\ud" in text or "\\uD" in text):  # an escape that may be a surrogate (pairs are one character)
        return _replace_surrogates(obj)
    return obj


def dumps_finite(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, **kwargs)`` that never writes ``NaN`` / ``Infinity``: a float that is not finite, at any
    depth of dicts, lists and tuples, is written as ``null``.

    RFC 8259 (section 6) has no such numbers; Python writes them by default and strict readers refuse the whole text
    (JavaScript's ``JSON.parse``, Go's ``encoding/json``, BigQuery's ``PARSE_JSON``).  Inputs never hold one (the
    parsers refuse non-finite numbers), but a sum can leave the double range: two order amounts or two values of a
    ``sum`` attribute of 1e308 each add up to infinity.  The same rule as the ``query`` command's JSON output
    (``analytics.query.json_ready``).  Finite data is written exactly as ``json.dumps`` writes it (one pass)."""
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:  # (a non-finite float somewhere: rare, so the common case pays nothing for the walk)
        return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def _finite(v: Any) -> Any:
    """``v`` with every non-finite float, at any depth of dicts, lists and tuples, replaced by None."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_surrogates(v: Any) -> Any:
    """``v`` (decoded JSON) with every lone surrogate in its strings and keys replaced by U+FFFD."""
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v) if _SURROGATE.search(v) else v
    if isinstance(v, dict):
        return {_replace_surrogates(k): _replace_surrogates(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_replace_surrogates(x) for x in v]
    return v


#: the lines of a JSON array written one item a line: they frame the records and hold none
_FRAMING = frozenset({b"[", b"]", b"],"})
_UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def jsonl_lines(f: BinaryIO | Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(line number from 1, bytes without the line end)`` of every line of a binary file, blank ones included.
    A line ends at LF, CRLF or a lone CR (classic Mac OS, some CRM and spreadsheet exports): numbered as an editor
    shows them, so ``file:line`` in a dead letter is the line a user finds.  A bare CR can only be a line end in
    JSONL: JSON allows no raw control character inside a string (RFC 8259 §7), and between tokens it is
    whitespace.  Reads LF-terminated chunks (``for line in f``): a CR-only file is one chunk, split here.

    As tools write such files: a comma after a line's closing brace is dropped (no JSON text ends in one: a JSON
    array's items copied a line each, ``{...},``, were each an ``invalid_json`` dead letter), and a line that is
    only ``[``, ``]``
    or ``],`` -- the frame of such an array -- is given as a blank line (it holds no record); a file starting with
    a UTF-16 byte order mark (Windows PowerShell 5's ``>`` / ``Out-File``, Excel's "Unicode text") is read as the
    UTF-16 text it is, each line given as UTF-8 (every line was ``invalid_utf8``)."""
    n = 0
    for chunk in _utf8_chunks(f):
        line = chunk.rstrip(b"\r\n")
        if b"\r" in line or chunk.endswith(b"\r\r\n"):  # lone CRs inside: each ends a line
            body = chunk[:-1] if chunk.endswith(b"\n") else chunk
            for part in (body[:-1] if body.endswith(b"\r") else body).split(b"\r"):
                n += 1
                yield n, _record_text(part)
            continue
        n += 1
        yield n, _record_text(line)


def _record_text(line: bytes) -> bytes:
    """``line`` without a trailing comma, or ``b""`` for a framing line (see :func:`jsonl_lines`)."""
    if line[-1:] == b"}":  # the common record
        return line
    bare = line.strip(b" \t")
    if bare.startswith(b"\xef\xbb\xbf"):  # (a UTF-8 byte order mark: the parser drops it too)
        bare = bare[3:].lstrip(b" \t")
    if bare in _FRAMING:
        return b""
    if bare.endswith(b",") and bare[:-1].rstrip(b" \t").endswith((b"}", b"]")):  # (a line cut off after a comma
        return bare[:-1].rstrip(b" \t")                                           # stays as it was read)
    return line


def _utf8_chunks(f: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """The LF-terminated chunks of ``f``; of a UTF-16 file (byte order mark first), its text's lines as UTF-8."""
    it = iter(f)
    first = next(it, None)
    if first is None:
        return
    for bom, encoding in _UTF16_BOMS:
        if first.startswith(bom):
            yield from _utf16_lines(first[len(bom):], it, encoding)
            return
    yield first
    yield from it


def _utf16_lines(head: bytes, rest: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """LF-terminated UTF-8 chunks of UTF-16 text given as ``head`` and the byte chunks ``rest`` (split anywhere:
    decoded incrementally; only ``\\n`` splits -- U+2028 inside a JSON string is no line end)."""
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    buf = ""
    for block in _chain(head, rest):
        buf += decoder.decode(block)
        *lines, buf = buf.split("\n")
        for line in lines:
            yield (line + "\n").encode("utf-8", "surrogatepass")
    buf += decoder.decode(b"", final=True)
    if buf:
        yield buf.encode("utf-8", "surrogatepass")


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield head
    yield from rest


def json_depth(text: str) -> int:
    """Maximum nesting depth of brackets outside strings (only called for records with many brackets)."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "}]":
            depth -= 1
    return best
