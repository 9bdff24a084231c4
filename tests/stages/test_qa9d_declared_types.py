"""Declared types in an attributes file written as people write them (QA round 9): ``plan:`` with nothing after it
said "unknown type 'None'", and ``integer`` / ``boolean`` / ``float`` named the accepted types without saying
which one was meant.  Now: "no type given", and a "did you mean" for the usual other spellings."""
from __future__ import annotations

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text

BASE = "version: 1\ntraits:\n  plan: {t}\n"


@pytest.mark.parametrize("written, meant", [("integer", "int"), ("Boolean", "bool"), ("float", "double"),
                                            ("String", "string"), ("datetime", "timestamp")])
def test_another_spelling_of_a_type_gets_a_suggestion(written, meant):
    with pytest.raises(Exception) as e:
        load_attributes_text(BASE.format(t=written), "a.yaml")
    assert f"a.yaml:3: traits.plan: unknown type '{written}' (did you mean {meant}?" in str(e.value)


def test_a_missing_type_says_so():
    with pytest.raises(Exception) as e:
        load_attributes_text(BASE.format(t=""), "a.yaml")
    assert "a.yaml:3: traits.plan: no type given" in str(e.value) and "None" not in str(e.value)


def test_the_accepted_names_still_load():
    assert "plan" in load_attributes_text(BASE.format(t="int"), "a.yaml").traits
