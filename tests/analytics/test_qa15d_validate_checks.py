"""qa15d: ``journeyflow validate`` checks that could not fail on the fault they name.

Before: ``send_has_address`` looked at email/sms/call sends only -- a push send without ``address_key`` (a push
goes to the customer's CRM id, ``stages.push_devices.push_address``; ``Decision.address_key`` = ``crm:<id>``)
passed; an address of the wrong kind (a phone key on an email send) passed every check; and a send, task or case
decided for a customer after the deletion of their account (``customer_snapshots.deleted_at``, qa15a) passed.
Doctored outputs of the suites' hand-made tables (``tests/analytics/test_quality.py``) and one real replay.
"""
from __future__ import annotations

import pytest

from journeyflow.analytics.quality import validate_output
from tests.analytics.test_quality import DAY, HEX_A, HEX_B, HOUR, T0, C, _dec, build_output, good_rows

WE = "welcome"


def _report(tmp_path, rows):
    rep = validate_output(build_output(tmp_path, rows))
    return rep, {(r.table, r.check): r for r in rep.results}


# ------------------------------------------------------------------------------------------------ addresses
def test_a_push_without_address_key_fails(tmp_path):
    rows = good_rows()
    d = _dec("d_000000000000000000000101", C(1), T0 + 3 * DAY, "send", WE, "push_1", "push", trigger="crm/evt-101")
    d["address_key"] = None
    rows["decisions"].append(d)
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", "send_has_address")}  # before: passed
    assert by[("decisions", "send_has_address")].keys == ("d_000000000000000000000101",)


@pytest.mark.parametrize("channel,key", [("email", f"phone:{HEX_A}"), ("sms", f"email:{HEX_B}"),
                                         ("call", C(1)), ("push", f"email:{HEX_B}"), ("push", "anon:dev-1")])
def test_an_address_of_another_kind_than_the_channel_fails(tmp_path, channel, key):
    rows = good_rows()
    rows["decisions"].append(_dec("d_000000000000000000000102", C(1), T0 + 3 * DAY, "send", WE, "x_1", channel,
                                  trigger="crm/evt-102", address_key=key))
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", "send_address_fits_channel")}  # before: no such check, passed
    assert by[("decisions", "send_address_fits_channel")].keys == ("d_000000000000000000000102",)


@pytest.mark.parametrize("channel", ["email", "sms", "call", "push"])
def test_an_address_of_the_channel_kind_passes(tmp_path, channel):
    rows = good_rows()
    rows["decisions"].append(_dec("d_000000000000000000000103", C(1), T0 + 3 * DAY, "send", WE, "x_1", channel,
                                  trigger="crm/evt-103"))
    assert validate_output(build_output(tmp_path, rows)).failed_checks() == set()
