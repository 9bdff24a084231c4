"""qa16a: a journey trigger (or a computed attribute) named in another tool's word for a built-in type.

The parser reads ``order_canceled``, Shopify's ``orders/create``, GA4's ``purchase``, Stripe's
``invoice.payment_failed``, HubSpot's ``contact.creation``, Zendesk's ``ticket.created`` as the stream's own type
(``spellings.ENUM_SYNONYMS``), so no event ever has that name and such a trigger never fires.  It was refused, but
with a misleading hint (``ticket.created``: "did you mean 'ticket_escalated'?", the wrong event; ``purchase, stream:
orders``: "a user-named event is in stream 'track'"; ``view_item``: no hint).  Now it is refused naming the type it
is read as (``journeys.never_fires.synonym_trigger_error``); not folded, so a journey file names each event one way,
as the tables do.  A user-named event of that name on stream ``track`` still loads."""
from __future__ import annotations

import subprocess
import sys

import pytest

from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.loader import load_journeys_text

JOURNEY = """version: 1
journeys:
  - id: j
    category: marketing
    priority: 100
    entry: {entry}
    exit:
      - {exit}
    steps:
      - {{id: w, wait: {{until: {until}, timeout: 1d}}}}
      - {{id: s, send: {{channel: email, content_id: c}}}}
"""
OK = {"entry": "{event: order_placed}", "exit": "{event: order_placed}", "until": "payment_failed"}


def _errors(**part) -> list[str]:
    with pytest.raises(JourneyError) as e:
        load_journeys_text(JOURNEY.format(**{**OK, **part}), "j.yaml")
    return e.value.errors


@pytest.mark.parametrize("part, line, where, meant", [
    ({"entry": "{event: order_canceled}"}, 6, "entry.event", "event: order_cancelled"),
    ({"entry": "{event: purchase, stream: orders}"}, 6, "entry.event", "event: order_placed"),
    ({"entry": "{event: view_item}"}, 6, "entry.event", "event: product_view"),
    ({"entry": "{event: ticket.created}"}, 6, "entry.event", "event: ticket_opened"),
    ({"entry": "{event: contact.creation, stream: crm}"}, 6, "entry.event", "event: contact_created"),
    ({"entry": "{event: Order Canceled}"}, 6, "entry.event", "event: order_cancelled"),
    ({"exit": "{event: orders/cancelled}"}, 8, "exit[0].event", "event: order_cancelled"),
    ({"until": "invoice.payment_failed"}, 10, "steps[0].wait.until", "until: payment_failed"),
])
def test_a_trigger_in_another_tools_word_is_refused_naming_the_type(part, line, where, meant):
    errors = _errors(**part)
    assert len(errors) == 1 and errors[0].startswith(f"j.yaml:{line}: journeys[0].{where}: "), errors
    assert "never fires" in errors[0] and f"use {meant}" in errors[0], errors


def test_a_word_of_two_streams_names_both():
    errors = _errors(entry="{event: open}")  # (an ESP's open, a helpdesk's open)
    assert "use event: opened or event: ticket_opened" in errors[0], errors


def test_the_types_own_names_and_user_named_track_events_still_load():
    load_journeys_text(JOURNEY.format(**{**OK, "exit": "{event: order_canceled, stream: track}"}), "j.yaml")
    load_journeys_text(JOURNEY.format(**{**OK, "entry": "{event: order_cancelled, stream: orders}"}), "j.yaml")


def test_a_misspelt_type_keeps_its_short_hint():
    assert _errors(entry="{event: add_to_card}") == [
        "j.yaml:6: journeys[0].entry.event: 'add_to_card' is not a known value (did you mean 'add_to_cart'?)"]


@pytest.mark.parametrize("spec, meant", [("event: order_canceled", "order_cancelled"),
                                         ("event: purchase", "order_placed"),
                                         ("event: orders/create, stream: orders", "order_placed")])
def test_a_computed_attribute_of_another_tools_word_is_refused_naming_the_type(spec, meant):
    with pytest.raises(AttributesError) as e:
        load_attributes_text(f"version: 1\nattributes:\n  n: {{op: count, {spec}}}\n", "a.yaml")
    assert [err for err in e.value.errors if err.startswith("a.yaml:3: ") and f"use event: {meant}" in err], \
        e.value.errors


def test_journeys_validate_says_which_type_to_use(tmp_path):
    path = tmp_path / "journeys.yaml"
    path.write_text(JOURNEY.format(**{**OK, "entry": "{event: order_canceled, stream: orders}"}))
    r = subprocess.run([sys.executable, "-m", "journeyflow.cli", "journeys", "validate", str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "use event: order_cancelled" in r.stderr, r.stderr
