"""The cart reminder's SMS is not capped by its own email (qa12b, a lifecycle practitioner's scenarios).

``cart_abandonment`` sent its email 1 h after the cart and its SMS 23 h later; the default policy's global cap (one
marketing or sales message per 24 h, window ``(now - 24h, now]``) counted the email and suppressed the SMS
(``frequency_cap``) for every treated cart whose email quiet hours did not defer: the shipped journey's second step
never went out.  Now the SMS comes 24 h after the email (step ``wait_23h`` keeps its id): it goes out, the promo cap
still holds (the analytics' ``daily_promo_cap`` counts no excess), and the SMS counts toward it (a marketing offer
an hour later is capped).  Replayed through the public replay API with the default journeys and policy.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, event_id_in_arm, replay_scenario

H, D = td(hours=1), td(days=1)


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()
    # a cart at 10:00 UTC: email at 11:00, SMS at 11:00 the next day (outside quiet hours)
    s.contact(-30 * D, "CART", email="cart@example.com", phone="+447911123450", consent=("email", "sms"))
    s.add("web", td(0), anonymous_id="dev-cart", user_id="CART", type="add_to_cart", product_id="SOFA",
          event_id=event_id_in_arm("cart_abandonment", "cart-t", control=False))
    # the same, then three views of a lamp an hour after the SMS: the browse offer (marketing) is capped by the
    # cart SMS (sales count toward the global cap)
    s.contact(-30 * D, "BROWSE", email="browse@example.com", phone="+447911123451", consent=("email", "sms"))
    s.add("web", td(0), anonymous_id="dev-browse", user_id="BROWSE", type="add_to_cart", product_id="SOFA",
          event_id=event_id_in_arm("cart_abandonment", "cart-b", control=False))
    for i in range(3):
        s.add("web", D + 2 * H + i * td(minutes=1), anonymous_id="dev-browse", user_id="BROWSE", type="product_view",
              product_id="LAMP")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa12b_cart_caps"))
    return audit


def _fates(audit, cid, journey):
    out = []
    for d in decisions_of(audit, f"crm:{cid}"):
        if d["journey_id"] == journey and d["action"] == "send":
            out.append((d["channel"], "sent"))
        out += [(c["channel"], c["reason"]) for c in d["candidates"] if c["journey_id"] == journey]
    return out


@pytest.mark.parametrize("cid", ["CART", "BROWSE"])
def test_the_cart_sms_goes_out_after_the_cart_email(audit, cid):
    assert _fates(audit, cid, "cart_abandonment") == [("email", "sent"), ("sms", "sent")]


def test_a_marketing_offer_after_the_cart_reminders_is_still_capped(audit):
    assert _fates(audit, "BROWSE", "browse_offer") == [("email", "frequency_cap")]
