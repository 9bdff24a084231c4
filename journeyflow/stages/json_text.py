"""JSON text of input records: decoding that never raises anything but ``json.JSONDecodeError`` /
``RecursionError`` for bad text (:func:`loads_json`), and the nesting depth of a text (:func:`json_depth`, for
:data:`journeyflow.stages.parse.MAX_JSON_DEPTH`).  Pure Python."""
from __future__ import annotations

import json
from typing import Any

__all__ = ["json_depth", "loads_json"]


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
    ``JSONDecodeError``).  Raises ``json.JSONDecodeError`` / ``RecursionError`` for text that is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        return json.loads(text, parse_int=_huge_int)


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
