"""qa11a: an opt-out of one spelling of a mailbox blocks every other spelling of it (``stages.mailboxes``).

Two customers each hold an address and get the browse offer days later.  Before, an opt-out of ``ann@example.com``
left mail to ``ann+shop@example.com`` going (the same mailbox: RFC 5233 subaddressing), so did an opt-out of
``ann+a@`` for ``ann+b@``, and of ``a.nn@googlemail.com`` for ``ann@gmail.com`` (Gmail ignores dots and
googlemail.com is gmail.com).  Address status was keyed by the full address only; now an opt-in or opt-out also
changes the status of the address's mailbox key, every holder of a spelling holds that key, and a send checks it.
Different mailboxes stay apart: dots matter outside gmail, ``-`` is no separator, bounces stay per address."""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.mailboxes import mailbox_of
from journeyflow.stages.parse import Parser
from tests.stages.test_qa10d_two_addresses import holder  # (a customer who consents, then views P1 three times)

PARSER = Parser(Hasher.from_env())  # the deployment's key: the one mailbox keys are hashed with
CONFIG = EngineConfig.from_files()
AT = "2026-10-01T00:00:00Z"


def sends(records: list[tuple[str, dict]], journey: str = "browse_offer") -> list[tuple[str, str]]:
    """(customer, address) of the browse offers sent (days after the opt-outs)."""
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in records]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 86_400_000):
        out += [(d.customer_id, d.address) for d in o.decisions if d.action == "send" and d.journey_id == journey]
    return sorted(out)


def offers(records: list[tuple[str, dict]]) -> list[str]:
    return [c for c, _a in sends(records)]


def opt_out(kind: str, email: str, at: str = AT, eid: str = "u1") -> tuple[str, dict]:
    if kind == "Segment Unsubscribed":
        return ("track", {"type": "track", "event": "Unsubscribed", "messageId": eid, "anonymousId": "esp-1",
                          "timestamp": at, "context": {"traits": {"email": email}}})
    if kind == "consent revoke":
        return ("consent", {"event_id": eid, "ts": at, "email": email, "channel": "email", "status": "revoked"})
    return ("engagement", {"event_id": eid, "ts": at, "email": email, "channel": "email", "type": kind})


KINDS = ("unsubscribed", "complained", "consent revoke", "Segment Unsubscribed")
SAME_MAILBOX = {  # (opted out, held by customer A)
    "base -> tagged": ("ann@example.com", "ann+shop@example.com"),
    "tag -> other tag": ("Ann+A@example.com", "ann+b@example.com"),
    "googlemail dotted -> gmail": ("A.nn@GoogleMail.com", "ann@gmail.com"),
    "gmail -> googlemail dotted tagged": ("ann@gmail.com", "a.n.n+news@googlemail.com"),
    "gmail tagged -> gmail dotted": ("ann+x@gmail.com", "a.nn@gmail.com"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(SAME_MAILBOX))
def test_an_opt_out_of_one_spelling_blocks_the_others(case, kind):
    named, held = SAME_MAILBOX[case]
    base = holder("A", held) + holder("B", "bob@example.com")
    assert offers(base) == ["crm:A", "crm:B"]
    assert offers(base + [opt_out(kind, named)]) == ["crm:B"]  # bob@ is another mailbox


OTHER_MAILBOX = {  # (opted out, held by customer A): different mailboxes, documented nowhere as one
    "dots outside gmail": ("a.nn@example.com", "ann@example.com"),
    "a hyphen is no separator": ("ann@example.com", "ann-marie@example.com"),
    "another domain": ("ann@gmail.com", "ann@example.com"),
    "gmail dots do not join other names": ("ann.b@gmail.com", "ann@gmail.com"),
}


@pytest.mark.parametrize("case", sorted(OTHER_MAILBOX))
def test_an_opt_out_of_another_mailbox_blocks_nothing_here(case):
    named, held = OTHER_MAILBOX[case]
    assert offers(holder("A", held) + [opt_out("unsubscribed", named)]) == ["crm:A"]


def test_a_bounce_of_the_base_address_does_not_bounce_its_tags():
    bounce = ("engagement", {"event_id": "b1", "ts": AT, "email": "ann@example.com", "channel": "email",
                             "type": "bounced"})
    assert offers(holder("A", "ann+shop@example.com") + [bounce]) == ["crm:A"]


def test_a_later_grant_of_a_spelling_reopens_that_spelling_only():
    grant = ("consent", {"event_id": "g2", "ts": "2026-10-02T00:00:00Z", "email": "ann+shop@example.com",
                         "channel": "email", "status": "granted"})
    # B and C are two CRM contacts of one family mailbox ann@ (C's link is refused: C holds ann@ unlinked)
    base = holder("A", "ann+shop@example.com") + holder("B", "ann@example.com") + holder("C", "ann@example.com")
    assert offers(base) == ["crm:A", "crm:B", "crm:C"]
    assert offers(base + [opt_out("unsubscribed", "ann@example.com")]) == []
    # the grant names ann+shop@: A gets mail again; ann@ stays opted out (for C too, whose channel is granted)
    assert offers(base + [opt_out("unsubscribed", "ann@example.com"), grant]) == ["crm:A"]
    # an opt-out after the grant wins again, whichever spelling it names
    late = opt_out("unsubscribed", "ann+other@example.com", "2026-10-03T00:00:00Z", "u2")
    assert offers(base + [opt_out("unsubscribed", "ann@example.com"), grant, late]) == []
    # a grant of the mailbox's own address re-opens the spellings without an opt-out of their own
    regrant = ("consent", {"event_id": "g3", "ts": "2026-10-02T00:00:00Z", "email": "ann@example.com",
                           "channel": "email", "status": "granted"})
    assert offers(base + [opt_out("unsubscribed", "ann+shop@example.com"), regrant]) == ["crm:B", "crm:C"]


def test_an_opt_out_naming_a_list_blocks_each_items_mailbox():
    rec = ("engagement", {"event_id": "u1", "ts": AT, "email": ["bob@example.com", "a.nn@googlemail.com"],
                          "channel": "email", "type": "unsubscribed"})
    assert offers(holder("A", "ann+x@gmail.com") + holder("B", "bob@example.com") + [rec]) == []


def test_mailbox_spellings():
    assert mailbox_of("ann+shop@example.com") == "ann@example.com"
    assert mailbox_of("a.n.n+x+y@googlemail.com") == "ann@gmail.com"
    assert mailbox_of("a.nn@example.com") == "a.nn@example.com"
    assert mailbox_of("+tag@example.com") == "+tag@example.com"  # no mailbox name before the tag: itself
