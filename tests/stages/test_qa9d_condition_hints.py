"""A condition written with another language's operators (QA round 9: an analyst's SQL or Python habits):
``customer.traits.plan = 'trial'``, ``... and ...``, ``<>``, ``not has(...)`` were "syntax error at column N near
..." and nothing else; the error now says what CEL writes instead.  Conditions that are CEL get no hint."""
from __future__ import annotations

import pytest

from journeyflow.stages.conditions import compile_condition
from journeyflow.stages.journeys import JourneyError


@pytest.mark.parametrize("text, cel", [
    ("customer.lifecycle_stage = 'customer'", "=="),
    ("customer.has_crm_id and customer.lifecycle_stage == 'lead'", "&&"),
    ("customer.has_crm_id OR customer.lifecycle_stage == 'lead'", "||"),
    ("customer.lifecycle_stage <> 'lead'", "!="),
    ("not customer.has_crm_id", "!"),
])
def test_another_languages_operator_gets_the_cel_spelling(text, cel):
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "j.yaml:3: journeys[0].entry.when")
    assert "syntax error" in str(e.value) and f"(CEL writes {cel})" in str(e.value)


@pytest.mark.parametrize("text", ["customer.lifecycle_stage == 'lead' &&", "customer.lifecycle_stage == ('lead'",
                                  "customer.lifecycle_stage == 'lead' customer"])
def test_other_syntax_errors_get_no_operator_hint(text):
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "j.yaml:3: journeys[0].entry.when")
    assert "CEL writes" not in str(e.value)


def test_names_that_contain_the_words_are_not_mistaken_for_operators():
    assert compile_condition("customer.notes_count > 0 || customer.orders_total >= 1", "w") is not None
