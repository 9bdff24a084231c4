"""A dead push device stops push to that device, and the welcome onboarding falls back to email (qa14c, lead 1).

A push goes to the customer's external id (the CRM id) and the push service delivers it to every device token it
holds.  An app uninstall or a rotated token makes the service report a push bounce (APNs 410 ``Unregistered``, FCM
``UNREGISTERED``; Segment Spec ``Push Notification Bounced``), on the device (the record's ``anonymous_id``, the app
install the app's login linked to the user).  Before, a push bounce changed nothing: ``welcome`` kept choosing push
for a customer whose only device was gone (``customer.consent.push`` only), and the push went nowhere.  Now the
device is unregistered (``stages.push_devices``), a customer whose every known device is unregistered (or whose
push bounce names no device: the user) gets no push (``no_address``), ``customer.reachable.push`` is false and
``welcome`` sends the onboarding tips by email -- as it now does for a customer without a CRM id (no push address
at all: before, a push suppressed with ``no_address`` and no tips).  Another live device keeps push; a later grant
by the device (a re-registration) restores it.  Replayed through the public replay API, default journeys and policy.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import T0, Scenario, decisions_of, replay_scenario

H, D, M = td(hours=1), td(days=1), td(minutes=1)


def _onboarding(audit, customer):
    """The channel the welcome onboarding step went out on (None: nothing sent)."""
    sent = [d["channel"] for d in decisions_of(audit, customer)
            if d["action"] == "send" and d["content_id"] in ("onboarding_tips", "onboarding_tips_push")]
    return sent[0] if sent else None


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    s, linked = Scenario(), set()

    def lead(cid, **ids):
        s.contact(td(0), cid, email=f"{cid.lower()}@example.com", consent=("email", "push"), stage="lead")

    def push(cid, at, typ, dev, **kw):
        if dev not in linked:  # the app's login links its install id to the user
            linked.add(dev)
            s.add("web", at - M, anonymous_id=dev, user_id=cid, type="login")
        s.add("engagement", at, crm_id=cid, anonymous_id=dev, channel="push", type=typ, **kw)

    lead("LIVE")
    push("LIVE", H, "delivered", "dev-l1")
    lead("DEAD")  # the only device's token is gone
    push("DEAD", H, "delivered", "dev-d1")
    push("DEAD", D, "bounced", "dev-d1")
    lead("TWO")  # one of two devices gone: the other still gets push
    push("TWO", H, "delivered", "dev-t1")
    push("TWO", H, "opened", "dev-t2")
    push("TWO", D, "bounced", "dev-t1", bounce_type="hard")
    lead("BACK")  # reinstalled: the device grants push again
    push("BACK", H, "delivered", "dev-b1")
    push("BACK", D, "bounced", "dev-b1")
    s.add("consent", 36 * H, anonymous_id="dev-b1", channel="push", status="granted")
    lead("USER")  # the push service could reach no device of the user (its bounce names none)
    s.add("engagement", D, crm_id="USER", channel="push", type="bounced")
    # no CRM id: no push address at all (consent to push given by email)
    s.add("web", td(0), anonymous_id="dev-n1", email="nocrm@example.com", type="signup")
    for ch in ("email", "push"):
        s.add("consent", td(seconds=1), email="nocrm@example.com", channel=ch, status="granted")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa14c_push"))
    return audit


def test_a_customer_with_a_live_device_gets_the_push(replayed):
    assert _onboarding(replayed, "crm:LIVE") == "push"


@pytest.mark.parametrize("cid", ["DEAD", "USER"])
def test_a_customer_whose_devices_are_gone_gets_the_tips_by_email(replayed, cid):
    assert _onboarding(replayed, f"crm:{cid}") == "email"


def test_another_device_still_gets_the_push(replayed):
    assert _onboarding(replayed, "crm:TWO") == "push"


def test_a_re_registration_restores_push(replayed):
    assert _onboarding(replayed, "crm:BACK") == "push"


def test_a_customer_without_a_push_address_gets_the_tips_by_email(replayed):
    (cid,) = {d["customer_id"] for d in replayed if d["customer_id"].startswith("email:")}
    assert _onboarding(replayed, cid) == "email"


def test_no_push_is_decided_for_a_dead_device(replayed):
    pushes = [d for d in replayed if d["channel"] == "push" and d["action"] == "send"]
    assert {d["customer_id"] for d in pushes} == {"crm:LIVE", "crm:TWO", "crm:BACK"}


def _segment(s: Scenario, at, **msg) -> None:
    s.n += 1
    s.records["track"].append({"messageId": f"m{s.n}", "timestamp": (T0 + at).isoformat(), **msg})


@pytest.mark.parametrize("event", ["Push Notification Bounced", "Application Uninstalled"])
def test_a_segment_push_bounce_unregisters_the_device(tmp_path, event):
    """The Segment Spec's push bounce (and an uninstall) on the app install (``anonymousId``) stops the push."""
    s = Scenario()
    s.contact(td(0), "SEG", email="seg@example.com", consent=("email", "push"), stage="lead")
    _segment(s, H, type="identify", userId="SEG", anonymousId="app-1")  # the app links its install id
    _segment(s, 2 * H, type="track", userId="SEG", anonymousId="app-1", event="Push Notification Received")
    _segment(s, D, type="track", userId="SEG", anonymousId="app-1", event=event,
             properties={"bounce_type": "Unregistered"} if event.startswith("Push") else {})
    _, audit, _ = replay_scenario(s, tmp_path)
    assert _onboarding(audit, "crm:SEG") == "email"
