"""compare's quiet-hours detector judges where a person is by the pipeline's own rule (``arbitration.zones``).

Before: a person with no known time zone was judged in UTC, whatever their phone said, and a text to a New York
number of a London profile was judged in London only.  The pipeline keeps quiet hours in the phones' zones when no
profile zone is known, and for a text or call also in the zones of the number it goes to; so compare counted a
promo text at 06:00 in New York (10:00Z) as fine for the automation and reported nothing, and counted a promo email
at 22:00 UTC to a New Yorker with no profile zone (18:00 EDT) as a conflict the pipeline rightly did not see.
"""
from __future__ import annotations

from datetime import datetime, timezone

from journeyflow.analytics import conflicts as C
from journeyflow.analytics.conflicts import PersonFacts, Send
from journeyflow.analytics.persons import PersonMap, build_person_facts
from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher

HASHER = Hasher(b"test-key")
NY_KEY, NY = HASHER.phone("+1 212 555 0100")
UK_KEY, UK = HASHER.phone("+44 7911 123456")


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp() * 1000)


def promo(ts: int, channel: str = "email", address_key: str | None = None) -> Send:
    return Send("P1", "crm:P1", ts, channel, "browse_offer", "s", "promo", "marketing", None, f"d{ts}{channel}",
                address_key)


def test_a_person_without_a_zone_is_judged_by_their_phone_not_utc():
    facts = {"P1": PersonFacts(phones={NY_KEY: NY})}
    evening_utc = promo(ms("2026-07-02T22:00:00"))  # 18:00 EDT: not quiet in New York (22:00 UTC would be)
    early_utc = promo(ms("2026-07-02T10:00:00"))  # 06:00 EDT: quiet in New York (10:00 UTC would not be)
    assert C.quiet_hours_conflicts([evening_utc, early_utc], facts) == [early_utc]


def test_a_text_counts_the_zones_of_the_number_it_went_to():
    facts = {"P1": PersonFacts(tz="Europe/London", phones={NY_KEY: NY, UK_KEY: UK})}
    at = ms("2026-07-02T10:00:00")  # 11:00 BST, 06:00 EDT
    to_ny, to_uk, email = promo(at, "sms", NY_KEY), promo(at + 1, "sms", UK_KEY), promo(at + 2, "email")
    assert C.quiet_hours_conflicts([to_ny, to_uk, email], facts) == [to_ny]


def test_no_zone_and_no_phone_is_the_policys_default_zone():
    night_utc = promo(ms("2026-07-02T03:00:00"))  # 12:00 in Tokyo
    assert C.quiet_hours_conflicts([night_utc], {}) == [night_utc]  # the shipped default_timezone: UTC
    assert C.quiet_hours_conflicts([night_utc], {}, default_timezone="Asia/Tokyo") == []


def test_person_facts_collect_the_phones_of_the_raw_records():
    ev = Event("crm/1", "crm", "contact_created", 0, ("crm:P1",), {}, {"phone": NY, "phone_key": NY_KEY})
    facts = build_person_facts([ev], PersonMap({"crm:P1": "P1"}, "identity_clusters"))
    assert facts["P1"].phones == {NY_KEY: NY}
