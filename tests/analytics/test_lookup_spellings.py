"""``lookup`` (``journeyflow query --customer``, :func:`find_customer`) finds a customer by an email or phone in the
spellings an analyst pastes, hashed as *the replay* hashed them (QA round 2 of issue 21).

Before: the replay's ``--merge_plus_addresses`` and ``--default_region`` (recorded in ``run.json``) were ignored, so
``ann.lee+news@example.com`` of a replay that merged plus-addresses and the national number ``07400 123456`` of a
``--default_region GB`` replay were "no customer"/"not a phone number"; ``CRM:CU1`` (kind in capitals) was "not a
phone number"; ``email:ann.lee@example.com`` (a raw address written as a key) was looked up unhashed; and an
identifier that is a customer of its own in this output was moved to another customer by a link the output did not
apply (a login after ``--until``)."""
from __future__ import annotations

from datetime import timedelta as td
from pathlib import Path

import pytest

from journeyflow.analytics.lookup import find_customer
from journeyflow.analytics.tables import write_table
from journeyflow.cli import main
from journeyflow.model.tables import TABLES
from tests.scenarios import Scenario


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    from journeyflow.pipelines.replay import run_replay
    base = tmp_path_factory.mktemp("lookup_spellings")
    s = Scenario()
    s.contact(-td(days=2), "CU1", email="Ann.Lee+news@Example.com", phone="07400 123456")
    s.add("web", td(0), anonymous_id="dev-u1", user_id="CU1", type="add_to_cart", product_id="SKU-1")
    s.add("web", td(0), anonymous_id="dev-u2", email="bob@example.com", type="add_to_cart", product_id="SKU-2")
    summary = run_replay(["--input", str(s.write(base / "in")), "--output", str(base / "out"),
                          "--merge_plus_addresses", "--default_region", "GB"])
    assert summary.reconciles
    return base / "out"


@pytest.mark.parametrize("spelling", [
    "crm:CU1", "CRM:CU1", " Crm: CU1 ",
    "ann.lee+news@example.com", "ann.lee@example.com", " ANN.LEE+promo@EXAMPLE.COM ",
    "mailto:Ann.Lee+x@example.com", "Ann Lee <ann.lee+x@example.com>", "email:ann.lee@example.com",
    "EMAIL: Ann.Lee+news@Example.com",
    "07400 123456", "+44 7400 123456", "tel:+44-7400-123456", "phone:07400 123456", "+44 (0)7400 123456",
])
def test_every_spelling_finds_the_customer_hashed_as_the_replay_hashed(out, spelling):
    assert find_customer(out, spelling) == "crm:CU1"


def test_the_command_line_uses_the_replays_region_and_plus_address_rule(out, capsys):
    for who in ("07400 123456", "ann.lee+news@example.com", "EMAIL:bob@example.com"):
        assert main(["query", str(out), "--example", "why_no_cart_reminder", "--customer", who,
                     "--format", "json"]) == 0, capsys.readouterr().err
        capsys.readouterr()
    # an explicit --default_region still wins: the same digits are another number in the US
    assert main(["query", str(out), "--example", "why_no_cart_reminder", "--customer", "07400 123456",
                 "--default_region", "US"]) == 2
    assert "07400" not in capsys.readouterr().err  # the raw value is never repeated


def test_an_identifier_with_its_own_snapshot_is_its_own_customer(tmp_path):
    """The output holds ``anon:dev-1`` as a customer of its own (its snapshot); ``identity_links`` lists an accepted
    link of it to ``crm:C1`` that the output's customers do not reflect (the link's event came after the replay
    horizon).  The snapshot decides."""
    snap = {c: None for c in ("crm_ids", "emails", "phones", "devices", "timezone", "lifecycle_stage",
                              "consent_email", "consent_sms", "consent_push", "consent_call", "address_status",
                              "open_tickets", "orders_90d", "cart_size", "messages_7d", "active_journeys",
                              "pending_timers", "first_seen", "last_event", "state_bytes", "traits")}
    t0 = 1_791_000_000_000
    rows = {name: [] for name in TABLES}
    rows["customer_snapshots"] = [{**snap, "customer_id": "anon:dev-1", "snapshot_at": t0, "identifiers": ["anon:dev-1"]},
                                  {**snap, "customer_id": "crm:C1", "snapshot_at": t0, "identifiers": ["crm:C1"]}]
    rows["identity_links"] = [{"identifier_a": "crm:C1", "identifier_b": "anon:dev-1", "customer_id": "crm:C1",
                               "event_id": "web/login", "stream": "web", "ts": t0 + 86_400_000,
                               "status": "accepted", "reason": None}]
    for name in TABLES:
        write_table(tmp_path, name, rows[name])
    assert find_customer(tmp_path, "anon:dev-1") == "anon:dev-1"
    assert find_customer(tmp_path, "crm:C1") == "crm:C1"


def test_two_different_customers_in_one_query_is_a_usage_error(out, capsys):
    """``--customer`` silently replaced ``--param customer_id=…``: the rows shown were another customer's than one of
    the two the analyst typed."""
    assert main(["query", str(out), "--example", "why_no_cart_reminder", "--customer", "crm:CU1",
                 "--param", "customer_id=bob@example.com"]) == 2
    assert "--customer" in capsys.readouterr().err
    assert main(["query", str(out), "--example", "why_no_cart_reminder", "--customer", "crm:CU1",
                 "--param", "customer_id=crm:CU1", "--format", "json"]) == 0
