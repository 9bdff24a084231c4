"""qa13c: an opt-out of an address at one of its provider's domains blocks the same name at the provider's others.

A name is one account's on each consumer domain of iCloud (``icloud.com``, ``me.com``, ``mac.com``), Proton
(``proton.me``, ``protonmail.com``, ``protonmail.ch``, ``pm.me``) and Yandex (``yandex.ru``, ``ya.ru``,
``yandex.com`` ...): mail to any of them reaches one inbox (sources: ``stages.mailboxes``).  A customer who
unsubscribed ``ann@me.com`` (the address of an old receipt) kept getting mail at ``ann@icloud.com`` (the CRM's):
only Gmail's spellings were one mailbox.  Now these domains map to one mailbox too (``mailboxes.PROVIDER_SPELLINGS``),
in every direction, with the usual rules (a bounce stays the address's; a later grant re-opens its own spelling)."""
from __future__ import annotations

import pytest

from journeyflow.stages.mailboxes import mailbox_of
from tests.stages.test_qa11a_mailboxes import KINDS, holder, offers, opt_out

SAME_ACCOUNT = {  # (opted out, held by customer A)
    "me.com -> icloud.com": ("ann@me.com", "ann@icloud.com"),
    "icloud.com -> mac.com": ("Ann@iCloud.com", "ann@mac.com"),
    "mac.com tagged -> me.com": ("ann+news@mac.com", "ann@me.com"),
    "pm.me -> protonmail.com": ("ann@pm.me", "ann@protonmail.com"),
    "proton.me -> protonmail.ch": ("ann@proton.me", "ann@protonmail.ch"),
    "ya.ru -> yandex.ru": ("ann@ya.ru", "ann@yandex.ru"),
    "yandex.com -> yandex.kz": ("ann@yandex.com", "ann@yandex.kz"),
}
NOT_ONE = {  # separate namespaces or other names: nothing blocked
    "hotmail.com -> outlook.com": ("ann@hotmail.com", "ann@outlook.com"),
    "me.com -> gmail.com": ("ann@me.com", "ann@gmail.com"),
    "dots matter at iCloud": ("a.nn@me.com", "ann@icloud.com"),
    "another name at Proton": ("bob@pm.me", "ann@proton.me"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(SAME_ACCOUNT))
def test_an_opt_out_at_one_domain_of_an_account_blocks_its_others(case, kind):
    named, held = SAME_ACCOUNT[case]
    base = holder("A", held) + holder("B", "bob@example.com")
    assert offers(base) == ["crm:A", "crm:B"]
    assert offers(base + [opt_out(kind, named)]) == ["crm:B"]  # before: ["crm:A", "crm:B"]


@pytest.mark.parametrize("case", sorted(NOT_ONE))
def test_other_namespaces_stay_apart(case):
    named, held = NOT_ONE[case]
    assert offers(holder("A", held) + [opt_out("unsubscribed", named)]) == ["crm:A"]


def test_a_bounce_stays_the_addresss_and_a_later_grant_reopens_its_own_spelling():
    bounce = ("engagement", {"event_id": "b1", "ts": "2026-10-01T00:00:00Z", "email": "ann@me.com",
                             "channel": "email", "type": "bounced"})
    assert offers(holder("A", "ann@icloud.com") + [bounce]) == ["crm:A"]
    grant = ("consent", {"event_id": "g2", "ts": "2026-10-02T00:00:00Z", "email": "ann@icloud.com",
                         "channel": "email", "status": "granted"})
    assert offers(holder("A", "ann@icloud.com") + [opt_out("unsubscribed", "ann@me.com"), grant]) == ["crm:A"]


def test_mailbox_of_these_domains():
    assert mailbox_of("ann+x@me.com") == mailbox_of("ann@mac.com") == "ann@icloud.com"
    assert mailbox_of("ann@icloud.com") == "ann@icloud.com"
    assert mailbox_of("ann@pm.me") == mailbox_of("ann@protonmail.ch") == "ann@proton.me"
    assert mailbox_of("a.nn@ya.ru") == "a.nn@yandex.ru"  # (dots kept: no Gmail rule there)
