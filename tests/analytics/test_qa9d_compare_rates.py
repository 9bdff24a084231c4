"""``journeyflow compare``'s text table shows a rate over nobody as "-" (QA round 9): with no message on one side
(an input of web events only: every send suppressed for consent) "messages per messaged person" read 0.00 for
journeyflow, a figure the JSON of the same run gives as null (no persons messaged, no rate)."""
from __future__ import annotations

from collections import Counter

from journeyflow.analytics.compare_report import CompareReport, SideSummary


def _report(persons: int = 10) -> CompareReport:
    auto = SideSummary("automation", messages=Counter(email=6), persons_messaged=3)
    jf = SideSummary("journeyflow")
    return CompareReport("in", "identity_clusters", persons, 100, None, auto, jf, 6, Counter(), 0, Counter(), {})


def _line(text: str, label: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith(label))[len(label):].split()


def test_a_rate_over_no_messaged_person_is_a_dash_as_in_the_json():
    r = _report()
    assert _line(r.render(), "messages per messaged person") == ["2.00", "-"]
    assert r.to_dict()["journeyflow"]["messages_per_messaged_person"] is None


def test_messages_per_person_without_persons_is_a_dash():
    assert _line(_report(persons=0).render(), "messages per person") == ["-", "-"]
