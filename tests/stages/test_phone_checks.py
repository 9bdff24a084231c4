"""identity.phone_checks.number_problem: the same answer as phonenumbers' own is_possible_number / is_valid_number
for every parsed number, whether the number was seen before in another spelling or not."""
from __future__ import annotations

import random

import phonenumbers
import pytest

from journeyflow.stages.identity import phone_checks
from journeyflow.stages.identity.phone_checks import NOT_POSSIBLE, NOT_VALID, number_problem

_REGIONS = ("US", "GB", "DE", "FR", "IT", "IN", "BR", "JP", "AU", "CA", "NL", "ES", "MX", "SM", "VA", "CI")
_SEPARATORS = ("", " ", "-", ".", " (", ") ")


def _library(number: phonenumbers.PhoneNumber) -> str:
    if not phonenumbers.is_possible_number(number):
        return NOT_POSSIBLE
    return "" if phonenumbers.is_valid_number(number) else NOT_VALID


def _spellings(rng: random.Random) -> list[tuple[str, str]]:
    """Texts of one random number in a few spellings (international, national, punctuated), with their regions."""
    region = rng.choice(_REGIONS)
    cc = phonenumbers.country_code_for_region(region)
    example = phonenumbers.example_number(region)
    digits = str(example.national_number) if example is not None and rng.random() < 0.5 else ""
    digits = "".join(rng.choice("0123456789") if rng.random() < 0.3 or not d else d
                     for d in digits.ljust(rng.randint(4, 13), "x")).replace("x", "")
    lead = "0" * rng.choice((0, 0, 1, 2))
    cut = rng.randint(1, max(1, len(digits) - 1))
    sep = rng.choice(_SEPARATORS)
    texts = [f"+{cc}{lead}{digits}", f"+{cc} {lead}{digits[:cut]}{sep}{digits[cut:]}", f"{lead}{digits}",
             f"0{digits[:cut]}{sep}{digits[cut:]}", f"00{cc}{digits}"]
    return [(t, rng.choice((region, "US"))) for t in texts]


@pytest.mark.parametrize("seed", range(4))
def test_number_problem_is_the_librarys_answer(seed: int) -> None:
    rng = random.Random(seed)
    phone_checks._problems.clear()
    checked = repeated = 0
    for _ in range(400):
        for text, region in _spellings(rng):
            try:
                number = phonenumbers.parse(text, region)
            except phonenumbers.NumberParseException:
                continue
            key = (number.country_code, phonenumbers.national_significant_number(number))
            repeated += key in phone_checks._problems
            assert number_problem(number) == _library(number), (text, region)
            checked += 1
    assert checked > 1000 and repeated > 100  # both the first reading and the remembered one were compared


def test_kinds_of_answer_and_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    phone_checks._problems.clear()
    assert number_problem(phonenumbers.parse("+1 (212) 555-0101", None)) == ""
    assert number_problem(phonenumbers.parse("+12125550101", None)) == ""  # remembered: the same number
    assert number_problem(phonenumbers.parse("+1 212", None)) == NOT_POSSIBLE
    assert number_problem(phonenumbers.parse("+1 999 555 0101", None)) == NOT_VALID
    # an Italian fixed line keeps its leading zero: another number than the one without it
    assert number_problem(phonenumbers.parse("+39 06 4944 0335", None)) == ""
    without_zero = phonenumbers.parse("+39 6 4944 0335", None)
    assert number_problem(without_zero) == _library(without_zero)
    monkeypatch.setattr(phone_checks, "_MAX", 2)
    phone_checks._problems.clear()
    for text in ("+12125550101", "+442079460958", "+33199000015"):
        assert number_problem(phonenumbers.parse(text, None)) == ""
    assert len(phone_checks._problems) <= 2
