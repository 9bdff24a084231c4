"""qa13c: an opt-out at one of an account's domains (``ann@me.com``) blocks the customers holding another
(``ann@icloud.com``, ``ann+x@mac.com``) in streaming as in replay: the address router keys the change by the
account's mailbox (``deliverability.held_addresses`` / ``address_effects``, ``mailboxes.ACCOUNT_DOMAINS``), whether
the holder named its address before or after the opt-out.  Before, nobody holding another domain's spelling was
blocked (tests/stages/test_qa13c_mailbox_domains.py)."""
from __future__ import annotations

import pytest

from tests.beam import test_qa11a_mailboxes_streaming as qa11a
from tests.beam.test_address_consent import _stream_decisions

CASES = {  # A's address, B's address, the opt-out (stream, fields), A's contact before the opt-out
    "me.com opted out, icloud.com held": ("ann@icloud.com", "bob@example.com",
                                          ("consent", dict(email="ann@me.com", channel="email", status="revoked")),
                                          True),
    "icloud.com opted out, tagged mac.com held later": ("ann+x@mac.com", "bob@example.com",
                                                        ("engagement", dict(email="ann@icloud.com", channel="email",
                                                                            type="unsubscribed")), False),
    "pm.me complained, both Proton spellings held": ("ann@protonmail.com", "ann@proton.me",
                                                     ("engagement", dict(email="ann@pm.me", channel="email",
                                                                         type="complained")), True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_opt_out_at_one_domain_blocks_the_holders_of_the_others_in_replay_and_streaming(case, monkeypatch):
    monkeypatch.setattr(qa11a, "CASES", CASES)
    events = qa11a.scenario(case)
    b_blocked = CASES[case][1] != "bob@example.com"
    assert qa11a.offered(events) == ({"crm:B"} if not b_blocked else set())  # A never
    _stream_decisions(events, f"memory://qa13c-domains-{abs(hash(case))}")
