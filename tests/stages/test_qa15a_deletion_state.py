"""qa15a: the account mark in the customer state (``stages.deletion``): kept through encodings, merges and retirement,
and a deleted customer's candidates are all suppressed with ``account_deleted`` whatever reaches arbitration."""
from __future__ import annotations

import itertools

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.decisions import Candidate
from journeyflow.stages import deletion
from journeyflow.stages.processor import Outputs
from journeyflow.stages.state import CustomerState, Retention
from journeyflow.stages.state_bounds import retire
from journeyflow.stages.state_codec import LAYOUT, decode_state, encode_state

MARKS = [None, ["deleted", 10], ["created", 10], ["deleted", 20], ["created", 20]]


@pytest.mark.parametrize("x,y", list(itertools.product(MARKS, MARKS)))
def test_a_merge_keeps_the_later_mark_and_a_tie_is_a_deletion(x, y):
    got = deletion.merge_account(x, y)
    assert got == deletion.merge_account(y, x)  # commutative
    if x is None or y is None:
        assert got == (x or y)
    elif x[1] != y[1]:
        assert got == max(x, y, key=lambda a: a[1])
    else:
        assert got[0] == ("deleted" if "deleted" in (x[0], y[0]) else "created")


def test_merged_states_are_deleted_when_one_profile_was():
    a = CustomerState(customer_id="crm:A", ids=["crm:A"], account=["deleted", 5], last_event=5)
    b = CustomerState(customer_id="anon:d", ids=["anon:d"], last_event=9)
    assert deletion.is_deleted(a.merge(b)) and deletion.is_deleted(b.merge(a))


def test_the_mark_survives_every_encoding():
    s = CustomerState(customer_id="crm:A", ids=["crm:A"], account=["deleted", 5], last_event=5)
    assert CustomerState.from_bytes(s.to_bytes()).account == ["deleted", 5]
    assert decode_state(encode_state(s)).account == ["deleted", 5]


def test_a_state_stored_before_the_mark_existed_reads_as_not_deleted():
    import marshal

    from journeyflow.stages.state import STATE_VERSION
    s = CustomerState(customer_id="crm:A", ids=["crm:A"], last_event=5)
    old = b"M" + bytes([STATE_VERSION]) + marshal.dumps(tuple(getattr(s, f) for f in LAYOUT[:-1]), 4)
    assert decode_state(old).account is None


def test_a_deleted_customer_is_never_retired_away():
    """The mark is what keeps a returning identifier's records frozen: retirement keeps it (and the ids)."""
    s = CustomerState(customer_id="crm:A", ids=["crm:A"], account=["deleted", 5], last_event=5, first_seen=1)
    assert retire(s, Retention()) is False
    assert s.account == ["deleted", 5] and s.ids == ["crm:A"]


def test_every_candidate_of_a_deleted_customer_is_suppressed_account_deleted():
    """Tasks and cases too (a CRM task about a deleted contact is personal data at work as well)."""
    proc = EngineConfig.from_files().build_processor()
    state = CustomerState(customer_id="crm:A", ids=["crm:A"], account=["deleted", 5], last_event=5,
                          consent={"email": ["granted", 1]})
    cands = [Candidate("j1", "s1", "service", 100, "send", "email", "c1", "t", 10),
             Candidate("j2", "s2", "sales", 50, "create_task", "crm_task", "c2", "t", 10),
             Candidate("j3", "s3", "service", 90, "route_case", "service_case", "c3", "t", 10)]
    out = Outputs()
    proc._arbitrate(state, cands, 10, "t", out)
    assert [d.action for d in out.decisions] == ["suppress"]
    assert out.decisions[0].reason_codes == ("account_deleted",)
    assert {c.reason for c in out.decisions[0].candidates} == {"account_deleted"}
    assert state.sends == []


def test_an_erasure_keeps_identifiers_and_opt_outs_only():
    s = CustomerState(customer_id="crm:A", ids=["crm:A", "email:x"], tz="UTC", lifecycle="customer", owner_id="o",
                      addresses={"email:x": ["email", "ann@example.com", 1]}, consent={
                          "email": ["granted", 1], "sms": ["revoked", 2]}, cart={"P1": 3}, orders=[[3, "o1", 5, []]],
                      traits={"plan": ["pro", 3]}, last_event=3, account=["deleted", 4])
    deletion.erase(s)
    assert (s.ids, s.consent, s.account) == (["crm:A", "email:x"], {"sms": ["revoked", 2]}, ["deleted", 4])
    assert (s.tz, s.lifecycle, s.owner_id, s.addresses, s.cart, s.orders, s.traits) == (None, None, None, {}, {}, [],
                                                                                         {})
