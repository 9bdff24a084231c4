"""QA round 14 (qa14e): a journey file that loaded and could never do what it says.

``send: {..., product_from_event: true}`` in a journey entered on an event without a product (a user-named Segment
event such as ``Trial Ending Soon``, whose ``properties.product_id`` is no event product; a ``ticket_opened``)
loaded, and every send named no product.  It is now an error naming the entry events; a journey entered on an
event with a product (``add_to_cart``), or on several one of which has one, still loads."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.loader import load_journeys_text

DECL = load_attributes_text(textwrap.dedent("""\
    version: 1
    events:
      Trial Ending Soon:
        properties: {days_left: int, product_id: string}
    """), "attributes.yaml").declarations


def _journeys(entry: str) -> str:
    return textwrap.dedent(f"""\
        version: 1
        journeys:
          - id: offer
            category: sales
            priority: 100
            entry: {entry}
            steps:
              - id: mail
                send: {{channel: email, content_id: offer, product_from_event: true}}
        """)


@pytest.mark.parametrize("entry", ["{event: Trial Ending Soon, stream: track}", "{event: ticket_opened}",
                                   "[{event: Trial Ending Soon, stream: track}, {event: ticket_resolved}]"])
def test_a_product_send_on_an_entry_without_product_is_refused(entry):
    with pytest.raises(JourneyError) as e:
        load_journeys_text(_journeys(entry), "journeys.yaml", DECL)
    assert any(err.startswith("journeys.yaml:9: journeys[0].steps[0].send.product_from_event: the entry event")
               and "no product_id or product_ids" in err for err in e.value.errors), e.value.errors


@pytest.mark.parametrize("entry", ["{event: add_to_cart}", "{event: order_placed}",
                                   "[{event: Trial Ending Soon, stream: track}, {event: product_view}]"])
def test_a_product_send_on_an_entry_with_a_product_loads(entry):
    (j,) = load_journeys_text(_journeys(entry), "journeys.yaml", DECL)
    assert j.steps[0].product_from_event
