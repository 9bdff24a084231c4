"""The streaming address router keeps, for each channel of an address, the status that decides it (QA session 9).

The router remembers an address's last ``MAX_KEPT_CHANGES`` changes to give them to a customer that names the
address later (a second CRM contact with the same family mailbox).  Soft bounces are changes too, each with its
own identity: after 64 of them (an ESP retrying for a week) the address's ``unsubscribed`` had been pruned, and a new
holder of the address was never told it had opted out -- replay, which joins all changes, blocks the address there.
Now the latest opt-in/opt-out status of each channel (every one at its latest time: a tie's blocking status wins in
the receiving state) and the first hard bounce are always kept; the oldest soft bounces go first.
"""
from __future__ import annotations

import json

from journeyflow.stages.deliverability import soft_bounce
from journeyflow.transforms.address import MAX_KEPT_CHANGES, AddressRouterFn, _prune
from tests.beam.test_address_copy_before_merge import _Cell  # (a ReadModifyWrite cell driven by hand)


def _softs(n: int, start: int = 100) -> list[list]:
    return [["email", soft_bounce(f"engagement/b{i}"), start + i] for i in range(n)]


def test_the_latest_status_of_each_channel_survives_many_soft_bounces():
    changes = [["email", "granted", 1], ["email", "unsubscribed", 5], ["sms", "revoked", 6]] + _softs(100)
    kept = _prune(changes)
    assert len(kept) == MAX_KEPT_CHANGES
    assert ["email", "unsubscribed", 5] in kept and ["sms", "revoked", 6] in kept
    # the latest grant stays too: an address granted, then opted out, is still the scope of consent (qa12a)
    assert ["email", "granted", 1] in kept and len([c for c in kept if c[1] == "granted"]) == 1
    assert kept[-1][2] == 199  # the newest soft bounces stay


def test_every_status_at_the_latest_time_is_kept():
    kept = _prune([["email", "granted", 5], ["email", "complained", 5]] + _softs(100))
    assert ["email", "granted", 5] in kept and ["email", "complained", 5] in kept


def test_a_new_holder_hears_of_an_old_opt_out_after_many_soft_bounces():
    router, cell = AddressRouterFn(), _Cell()
    router.setup()
    key = "email:" + "a" * 32
    assert list(router.process((key, ("hold", "crm:A")), record=cell)) == []
    list(router.process((key, ("change", "email", "unsubscribed", 5)), record=cell))
    for ch, effect, at in _softs(MAX_KEPT_CHANGES + 6):
        list(router.process((key, ("change", ch, effect, at)), record=cell))
    copies = list(router.process((key, ("hold", "crm:B")), record=cell))
    assert ("crm:B", "unsubscribed", 5) in [(h, c.attrs["status"], c.attrs["at"]) for h, c in copies]
    assert len(json.loads(cell.value)["changes"]) == MAX_KEPT_CHANGES
