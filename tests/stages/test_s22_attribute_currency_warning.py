"""A computed attribute that sums, or takes the min / max of, order amounts of any currency loads with a warning
(session 22, the sibling of ``customer_value``'s fault: 100 USD + 10,000 JPY is no 10,100 of anything): the file
is valid, the warning names file:line and the fix (a ``where`` on ``event.currency``)."""
from __future__ import annotations

import logging

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text


def _load(attrs: str, caplog) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="journeyflow.stages.attributes_loader"):
        load_attributes_text("version: 1\nattributes:\n" + attrs, "attrs.yaml")
    return [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("op", ["sum", "min", "max"])
def test_money_over_any_currency_warns_with_the_line(op, caplog):
    msgs = _load(f"  x: {{op: count, event: login}}\n  spend: {{op: {op}, event: order_placed, property: amount}}\n",
                 caplog)
    assert len(msgs) == 1
    assert msgs[0].startswith("attrs.yaml:4: ") and "currency" in msgs[0] and "event.currency" in msgs[0]
    assert f"{op} of 'amount'" in msgs[0]


@pytest.mark.parametrize("attr", [
    "spend: {op: sum, event: order_placed, property: amount, where: 'event.currency == \"EUR\"'}",
    "spend: {op: max, event: order_placed, property: amount, where: 'event.currency in [\"EUR\"]'}",
    "n: {op: count, event: order_placed}",
    "last_amount: {op: last, event: order_placed, property: amount}",
])
def test_one_currency_or_no_sum_is_quiet(attr, caplog):
    assert _load(f"  {attr}\n", caplog) == []
