"""Arithmetic of the conditions' fast path (:mod:`journeyflow.stages.conditions_fast`): CEL's ``+ - * / %`` and
unary minus on the values it reproduces exactly, per cel-spec langdef.md "Arithmetic": int64 (an overflow is an
error), double (IEEE 754), string concatenation.  Everything else raises :data:`FALLBACK` (cel-python then
evaluates the whole condition and gives its own value or error): mixed int and double (no such overload in CEL),
bools, uints, lists, an int beyond 64 bits, a division by zero.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["FALLBACK", "INT64", "Fallback", "add", "float_div", "int_div", "int_mod", "int_or_double", "neg"]


class Fallback(Exception):
    """The values met at run time are outside the fast path: use cel-python for this evaluation."""


FALLBACK = Fallback()
#: CEL's int: signed 64 bits
INT64 = (-(2 ** 63), 2 ** 63 - 1)


def int_or_double(on_ints: Callable[[int, int], int], on_doubles: Callable[[float, float], float] | None):
    """A binary operator of two ints (an int64 result, else an overflow: cel-python's error) or two doubles (IEEE
    754); anything else -- mixed int and double (no overload in CEL), bools, uints, strings, an int beyond 64 bits
    -- raises Fallback, so cel-python gives its own value or error."""
    def op(x: Any, y: Any) -> Any:
        tx = x.__class__
        if tx is not y.__class__:
            raise FALLBACK
        if tx is int:
            r = on_ints(x, y)
            if not INT64[0] <= r <= INT64[1] or not INT64[0] <= x <= INT64[1] or not INT64[0] <= y <= INT64[1]:
                raise FALLBACK  # an overflow (an error in CEL), or an operand that is no CEL int
            return r
        if tx is float and on_doubles is not None:
            return on_doubles(x, y)
        raise FALLBACK
    return op


def int_div(x: int, y: int) -> int:
    """CEL int division: truncated toward zero (``-7 / 2 == -3``); by zero an error (cel-python's, Fallback)."""
    if y == 0:
        raise FALLBACK
    q = abs(x) // abs(y)
    return -q if (x < 0) != (y < 0) else q


def int_mod(x: int, y: int) -> int:
    """CEL int remainder: the sign of the dividend (``-7 % 2 == -1``, ``7 % -2 == 1``); by zero an error."""
    return x - y * int_div(x, y)


def float_div(x: float, y: float) -> float:
    """Double division; by zero left to cel-python (it differs from IEEE 754 there: ``-1.0 / 0.0`` is ``+inf``)."""
    if y == 0.0:
        raise FALLBACK
    return x / y


_add_numbers = int_or_double(int.__add__, float.__add__)


def add(x: Any, y: Any) -> Any:
    """``+``: two ints, two doubles, or two strings (concatenated); anything else to cel-python (lists too)."""
    if x.__class__ is str and y.__class__ is str:
        return x + y
    return _add_numbers(x, y)


def neg(_none: None, x: Any) -> Any:
    """Unary minus of an int (``-(-2**63)`` overflows: an error) or a double."""
    tx = x.__class__
    if tx is int and INT64[0] < x <= INT64[1]:
        return -x
    if tx is float:
        return -x
    raise FALLBACK
