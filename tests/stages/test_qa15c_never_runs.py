"""qa15c: journeys that can never run are refused at load, with the file and line (``journeys.never_fires``).

Since qa15a an account deletion (crm ``contact_deleted``) freezes the customer: every membership ends (``exited``,
``account_deleted``) and nothing is entered after it.  Before, a journey entered on ``contact_deleted``, or with an
exit, a goal or a wait-until on it, loaded without a word and never ran (its entry never entered, its goal was never
attributed, its wait never resumed).  The siblings the loader already refused are kept as regression guards: an
event type its stream does not have, the Segment ``Account Deleted`` on ``track`` (mapped onto the deletion), a
``customer.reachable`` / ``customer.consent`` channel that does not exist."""
from __future__ import annotations

import dataclasses
import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.conditions import JourneyError
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER

TEMPLATE = """version: 1
journeys:
  - id: bye
    name: Goodbye
    category: transactional
    priority: 800
    entry: {{event: {entry}, stream: crm, when: "{when}"}}
    exit: [{{event: {exit}}}]
    goal: [{{event: {goal}}}]
    steps:
      - id: w
        wait: {{until: {until}, timeout: 1d}}
      - id: s
        send: {{channel: email, content_id: bye}}
"""
OK = {"entry": "contact_created", "exit": "order_placed", "goal": "order_placed", "until": "order_placed",
      "when": "true"}
LINE = {"entry": 7, "exit": 8, "goal": 9, "until": 12}


def _config(**kw):
    return dataclasses.replace(CONFIG, journeys_yaml=TEMPLATE.format(**{**OK, **kw}), journeys_source="bye.yaml")


def _errors(**kw) -> list[str]:
    with pytest.raises(JourneyError) as e:
        _config(**kw).validate()
    return e.value.errors


def test_control_the_journey_loads_and_runs():
    _config().validate()
    assert _steps(_config()) == ["entered", "waiting", "exited"]  # (exited: account_deleted)


@pytest.mark.parametrize("role, words", [("entry", "can never start a journey"), ("exit", "is no exit"),
                                         ("goal", "never attributed"), ("until", "never resumes the wait")])
def test_a_trigger_on_the_account_deletion_is_refused_with_its_line(role, words):
    errors = _errors(**{role: "contact_deleted"})
    assert len(errors) == 1 and errors[0].startswith(f"bye.yaml:{LINE[role]}: journeys[0]."), errors
    assert "'contact_deleted'" in errors[0] and words in errors[0]


def test_every_role_at_once_is_reported_at_once():
    errors = _errors(entry="contact_deleted", exit="contact_deleted", goal="contact_deleted",
                     until="contact_deleted")
    assert [int(e.split(":")[1]) for e in errors] == sorted(LINE.values())


def test_such_a_journey_really_never_ran(monkeypatch):
    """What the refusal is about, through parse -> fold: the entry on the deletion entered no one (before: it
    loaded, and this is all it did).  (Its own source name: the built config is cached per config.)"""
    from journeyflow.stages.journeys import loader
    monkeypatch.setattr(loader, "deletion_trigger_error", lambda *a: None)  # (loaded as before, to watch it)
    assert _steps(dataclasses.replace(_config(entry="contact_deleted"), journeys_source="before.yaml")) == []


def test_the_segment_account_deleted_on_track_is_refused_without_a_hint_to_the_deletion():
    text = TEMPLATE.format(**OK).replace("{event: contact_created, stream: crm", "{event: Account Deleted, stream: "
                                                                                "track")
    with pytest.raises(JourneyError) as e:
        dataclasses.replace(CONFIG, journeys_yaml=text, journeys_source="bye.yaml").validate()
    [error] = e.value.errors
    assert error.startswith("bye.yaml:7:") and "contact_deleted" in error and "use event" not in error


@pytest.mark.parametrize("kw, words", [
    ({"entry": "ticket_opened"}, "is not in stream 'crm' (it is in 'support')"),
    ({"until": "order_shipped"}, "not a known value"),
    ({"when": "customer.reachable.whatsapp"}, "unknown field 'whatsapp' of customer.reachable"),
    ({"when": "customer.consent.whatsapp"}, "unknown field 'whatsapp' of customer.consent"),
])
def test_siblings_already_refused(kw, words):
    errors = _errors(**kw)
    assert len(errors) == 1 and words in errors[0] and errors[0].startswith("bye.yaml:"), errors


def _steps(cfg) -> list[str]:
    recs = [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": "ann@example.com"}),
            ("crm", {"event_id": "d-A", "ts": "2026-09-01T01:00:00Z", "type": "contact_deleted", "crm_id": "A"})]
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in recs]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, cfg.link_rules()), cfg.build_processor(),
                               max(e.ts for e in events) + 2 * 86_400_000):
        out += [s.kind for s in o.steps if s.journey_id == "bye"]
    return out


# --- the attributes file: a computed attribute of the deletion never counts one
def _attribute_errors(attribute: str) -> list[str]:
    cfg = dataclasses.replace(CONFIG, attributes_yaml="version: 1\nattributes:\n  x: " + attribute + "\n",
                              attributes_source="a.yaml")
    with pytest.raises(Exception) as e:
        cfg.validate()
    return e.value.errors


@pytest.mark.parametrize("attribute", ["{op: count, event: contact_deleted, window: 30d}",
                                       "{op: count, event: contact_deleted, stream: crm}",
                                       "{op: last, event: contact_deleted, property: ts}"])
def test_a_computed_attribute_of_the_deletion_is_refused(attribute):
    [error] = _attribute_errors(attribute)
    assert error.startswith("a.yaml:3: attributes.x.event:") and "is never counted" in error


def test_the_segment_account_deleted_attribute_names_the_deletion_not_a_replacement():
    [error] = _attribute_errors("{op: count, event: Account Deleted}")
    assert "contact_deleted" in error and "is never counted" in error and "use event" not in error


def test_such_an_attribute_really_never_counted(monkeypatch):
    """What the refusal is about: folded over a contact, its deletion and a new account, the attribute holds
    nothing (the deletion erases it; the new account starts empty), while a count of contact_created does."""
    from journeyflow.stages import attributes_loader
    monkeypatch.setattr(attributes_loader, "deletion_trigger_error", lambda *a: None)
    cfg = dataclasses.replace(CONFIG, attributes_source="before.yaml", attributes_yaml=(
        "version: 1\nattributes:\n  deletions: {op: count, event: contact_deleted, window: 30d}\n"
        "  created: {op: count, event: contact_created, window: 30d}\n"))
    recs = [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A"}),
            ("crm", {"event_id": "d-A", "ts": "2026-09-01T01:00:00Z", "type": "contact_deleted", "crm_id": "A"}),
            ("crm", {"event_id": "c-B", "ts": "2026-09-02T00:00:00Z", "type": "contact_created", "crm_id": "A"})]
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in recs]
    for n in (2, 3):
        [(_c, o)] = list(fold_clusters(resolve_clusters(events[:n], cfg.link_rules()), cfg.build_processor(),
                                       events[n - 1].ts + 1000))
        [state] = o.final_states.values()
        assert "deletions" not in state.computed and ("created" in state.computed) is (n == 3)
