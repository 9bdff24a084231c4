"""QA round 14 (qa14e): two declared traits (or properties of one event) that are one name in two spellings.

A source's spelling of a declared name (``PLAN``, ``Plan Type``) is read as the declared one with a warning
(``stages.declared_types``), but with ``Plan`` and ``plan`` both declared a ``PLAN`` was neither's: a trait
``PLAN`` was silently not kept (no warning, no value) and a property ``PLAN`` kept as an undeclared one no condition
reads.  Declaring both is now a load error naming the two."""
from __future__ import annotations

import pytest

from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text


@pytest.mark.parametrize("text, line, words", [
    ("version: 1\ntraits: {Plan: string, plan: int}\n", 2, "'plan' and 'Plan' are one trait in two spellings"),
    ("version: 1\ntraits:\n  plan type: string\n  plan-type: string\n", 4, "one trait in two spellings"),
    ("version: 1\nevents:\n  Seats Changed:\n    properties: {seat_count: int, Seat Count: int}\n", 4,
     "'Seat Count' and 'seat_count' are one property in two spellings"),
])
def test_one_name_declared_in_two_spellings_is_refused(text, line, words):
    with pytest.raises(AttributesError) as e:
        load_attributes_text(text, "attributes.yaml")
    assert any(err.startswith(f"attributes.yaml:{line}: ") and words in err for err in e.value.errors), e.value.errors


def test_distinct_names_and_one_spelling_per_event_still_load():
    a = load_attributes_text("version: 1\ntraits: {plan: string, plans: int}\nevents:\n  A:\n"
                             "    properties: {plan: string}\n  B:\n    properties: {Plan: string}\n",
                             "attributes.yaml")
    assert set(a.traits) == {"plan", "plans"}
