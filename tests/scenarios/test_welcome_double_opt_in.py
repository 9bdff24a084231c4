"""Double opt-in: the welcome email goes out when the email consent arrives after the signup.

A shop with double opt-in records the email grant when the customer clicks the confirmation link: minutes to days
after the signup.  The default ``welcome`` journey waited 15 minutes for the profile to settle, then sent the welcome
email; a grant later than that found it suppressed for consent, and it was never sent (the journey went on to its
2-day onboarding step).  Now, without email consent after the settle, it waits up to two days for an email grant
and sends the welcome then.  Replayed through the public replay API."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import T0, Scenario, decisions_of, read_topic

M, H = td(minutes=1), td(hours=1)
#: customer -> (when the email grant comes after the signup (None: never), channel of the grant)
CASES = {"SETTLED": (5 * M, "email"), "CONFIRM_3H": (3 * H, "email"), "CONFIRM_1D": (26 * H, "email"),
         "SMS_ONLY": (3 * H, "sms"), "NEVER": (None, "email"), "TOO_LATE": (60 * H, "email")}


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    from journeyflow.pipelines.replay import run_replay

    s = Scenario()
    for name, (after, channel) in CASES.items():
        s.contact(td(0), name, email=f"{name.lower()}@example.com", consent=())
        if after is not None:
            s.add("consent", after, crm_id=name, channel=channel, status="granted")
    base = tmp_path_factory.mktemp("welcome_doi")
    run_replay(["--input", str(s.write(base / "in")), "--output", str(base / "out"), "--until", "end"])
    return read_topic(base / "out", "decisions-audit")


def welcome_sends(audit, name):
    return [d for d in decisions_of(audit, f"crm:{name}")
            if d["journey_id"] == "welcome" and d["action"] == "send" and d.get("content_id") == "welcome"]


@pytest.mark.parametrize("name", ["SETTLED", "CONFIRM_3H", "CONFIRM_1D"])
def test_the_welcome_goes_out_once_when_the_email_grant_comes(audit, name):
    sends = welcome_sends(audit, name)
    assert len(sends) == 1
    after, _ch = CASES[name]
    at = sends[0]["decided_at"]
    granted = int((T0 + after).timestamp() * 1000)
    assert at >= granted and at - int(T0.timestamp() * 1000) >= 15 * 60_000 and at - granted <= 15 * 60_000


@pytest.mark.parametrize("name", ["SMS_ONLY", "NEVER", "TOO_LATE"])
def test_no_welcome_without_an_email_grant_in_two_days(audit, name):
    assert welcome_sends(audit, name) == []
