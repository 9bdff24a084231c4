"""The two checks :mod:`journeyflow.stages.identity.keys` makes of a parsed phone number (``phonenumbers``'
``is_possible_number`` and ``is_valid_number``), worked out once per number however it was written.

Both read nothing of a ``PhoneNumber`` but its country calling code and its national significant number
(``phonenumbers.phonenumberutil``: ``is_possible_number_for_type_with_reason`` and ``region_code_for_number`` /
``is_valid_number_for_region`` start from ``numobj.country_code`` and ``national_significant_number(numobj)``; the
extension, raw input and carrier code are not read), so their answer is remembered by that pair: ``+1 (212)
555-0101``, ``+12125550101`` and ``212-555-0101`` (region US) are checked once.  The parse itself (which depends on
the spelling) is not remembered here: ``Hasher`` caches it by the exact raw text.  The equality with the library's
own calls is a test (``tests/stages/test_phone_checks.py``).
"""
from __future__ import annotations

import phonenumbers

__all__ = ["NOT_POSSIBLE", "NOT_VALID", "number_problem"]

NOT_POSSIBLE = "phone is not a possible number"
NOT_VALID = "phone is not a valid number"
_MAX = 1 << 14  #: numbers remembered (then the memory starts again): ~150 B each
_problems: dict[tuple[int | None, str], str] = {}


def number_problem(number: phonenumbers.PhoneNumber) -> str:
    """``""`` when ``phonenumbers`` deems ``number`` possible and valid, else :data:`NOT_POSSIBLE` (not
    ``is_possible_number``) or :data:`NOT_VALID` (possible, not ``is_valid_number``), remembered by country
    calling code and national significant number (at most 16,384 numbers; thread-safe: one dict read and one
    write, a race computes the same answer twice)."""
    key = (number.country_code, phonenumbers.national_significant_number(number))
    problem = _problems.get(key)
    if problem is None:
        if not phonenumbers.is_possible_number(number):
            problem = NOT_POSSIBLE
        elif not phonenumbers.is_valid_number(number):
            problem = NOT_VALID
        else:
            problem = ""
        if len(_problems) >= _MAX:
            _problems.clear()
        _problems[key] = problem
    return problem
