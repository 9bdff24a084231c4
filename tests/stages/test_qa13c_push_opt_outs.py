"""qa13c lead 2: push permission revoked is an opt-out of push (a push bounce: qa14c, below).

The welcome journey picks push for its onboarding tip when ``customer.consent.push`` holds, else email.  A revoked
push permission reported as an engagement ``unsubscribed`` on push or a consent ``revoked`` for push -- by CRM id
or, since qa13c, by the device's anonymous id alone (the app knows the user before login) -- blocks push: the tip
goes by email.  A push ``bounced`` (APNs 410 ``Unregistered`` / FCM ``UNREGISTERED``: the app was uninstalled)
changes nothing (README "Consent and deliverability": push has no address; the push service drops dead devices):
the push still goes to the push topic, where it reaches no one -- no message to an opted-out person, so it is left
(documented here).  These held before this round, the anonymous case apart (a dead letter then, the push sent)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER

AT = "2026-10-06T00:00:00Z"


def new_lead(extra: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The records of a new lead who granted email and push and logged in on device ``app-9``, then ``extra``."""
    return [("crm", {"event_id": "c-A", "ts": "2026-10-05T10:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": "ann@example.com", "timezone": "UTC", "lifecycle_stage": "lead"}),
            ("consent", {"event_id": "g1", "ts": "2026-10-05T10:00:01Z", "crm_id": "A", "channel": "email",
                         "status": "granted"}),
            ("consent", {"event_id": "g2", "ts": "2026-10-05T10:00:02Z", "crm_id": "A", "channel": "push",
                         "status": "granted"}),
            ("web", {"event_id": "l1", "ts": "2026-10-05T11:00:00Z", "type": "login", "anonymous_id": "app-9",
                     "user_id": "A"})] + extra


def onboarding(extra: list[tuple[str, dict]]) -> list[str]:
    """Channels of the welcome journey's onboarding sends of a new lead who granted email and push."""
    recs = new_lead(extra)
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in recs]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 5 * 86_400_000):
        out += [d.channel for d in o.decisions if d.action == "send" and d.step_id.startswith("onboarding")]
    return out


REVOKED = {
    "engagement unsubscribed by CRM id": ("engagement", {"event_id": "e1", "ts": AT, "crm_id": "A",
                                                         "channel": "push", "type": "unsubscribed"}),
    "engagement unsubscribed by the app's anonymous id": ("engagement", {"event_id": "e1", "ts": AT,
                                                                         "anonymous_id": "app-9", "channel": "push",
                                                                         "type": "unsubscribed"}),
    "consent revoked by CRM id": ("consent", {"event_id": "e1", "ts": AT, "crm_id": "A", "channel": "push",
                                              "status": "revoked"}),
    "consent revoked by the app's anonymous id": ("consent", {"event_id": "e1", "ts": AT, "anonymous_id": "app-9",
                                                              "channel": "push", "status": "revoked"}),
}


def test_with_push_granted_the_tip_goes_by_push():
    assert onboarding([]) == ["push"]


@pytest.mark.parametrize("case", sorted(REVOKED))
def test_a_revoked_push_permission_sends_the_tip_by_email(case):
    assert onboarding([REVOKED[case]]) == ["email"]


def test_a_push_bounce_of_the_user_sends_the_tip_by_email():
    """Since qa14c a push bounce is acted on (``stages.push_devices``): one naming no device means the push service
    reached none of the user's devices, so the tip goes by email (tests/scenarios/test_qa14c_push_devices.py)."""
    bounce = ("engagement", {"event_id": "e1", "ts": AT, "crm_id": "A", "channel": "push", "type": "bounced"})
    assert onboarding([bounce]) == ["email"]
