"""A CRM record flagged as deleted is the contact's deletion (``stages.deletion_flags``): HubSpot v3 exports a
deleted contact as its record with ``archived: true`` / ``archivedAt``, Salesforce with ``IsDeleted``, a warehouse
export with ``deleted`` / ``deleted_at``.  Before, such a ``contact_updated`` was an ordinary update (the fast parser
skips fields it does not know), so the deleted contact's cart reminder, dunning text and win-back went out (qa15a
noticed and left it).  A false flag changes nothing; both parsers (fast path and full) read it, text or bytes."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.deletion_flags import deletion_flagged, names_deletion_flag
from tests.stages.test_qa15a_account_deletion import DEL, PARSER, activity, contact, decide, sends


def _update(**flag) -> tuple[str, dict]:
    return ("crm", {"event_id": "upd-A", "ts": DEL, "type": "contact_updated", "crm_id": "A",
                    "email": "ann@example.com", **flag})


FLAGGED = [{"archived": True}, {"archivedAt": DEL}, {"IsDeleted": True}, {"isDeleted": "true"}, {"deleted": 1},
           {"is_deleted": "Yes"}, {"deleted_at": DEL}]
NOT_FLAGGED = [{"archived": False}, {"archivedAt": None}, {"IsDeleted": "false"}, {"deleted": 0}, {"deleted_at": ""},
               {"properties": {"archived": True}}]


@pytest.mark.parametrize("flag", FLAGGED, ids=lambda f: json.dumps(f))
def test_an_update_flagged_deleted_stops_every_pending_message(flag):
    assert sends(decide(contact() + activity() + [_update(**flag)]), after=DEL) == []


@pytest.mark.parametrize("flag", NOT_FLAGGED, ids=lambda f: json.dumps(f))
def test_an_update_not_flagged_deleted_is_an_update(flag):
    got = sends(decide(contact() + activity() + [_update(**flag)]), after=DEL)
    assert ("cart_abandonment", "email") in got and ("winback", "email") in got


@pytest.mark.parametrize("form", [str, str.encode])
@pytest.mark.parametrize("flag", FLAGGED[:2] + NOT_FLAGGED[:1], ids=lambda f: json.dumps(f))
def test_both_parsers_read_the_flag_from_text_and_bytes(flag, form):
    raw = form(json.dumps(_update(**flag)[1]))
    ev = PARSER.parse("crm", raw)
    full = PARSER.parse_full("crm", raw).result
    assert isinstance(ev, Event) and isinstance(full, Event)
    assert ev.type == full.type == ("contact_updated" if flag in NOT_FLAGGED else "contact_deleted")


def test_the_scan_finds_every_flag_name_in_any_case():
    for flag in FLAGGED:
        assert names_deletion_flag(json.dumps(flag)) and names_deletion_flag(json.dumps(flag).upper().encode())
    assert not names_deletion_flag(json.dumps({"crm_id": "deleted", "note": "archived"}))
    assert deletion_flagged({"type": "contact_created", "Archived": "TRUE"})["type"] == "contact_deleted"
