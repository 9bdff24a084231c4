"""``Arbiter.quiet_until`` with the ``ArbitrationResult.moment`` of the arbitration just before (session 21, issue
22): the delivery address and quiet-hours due times the arbitration worked out are reused, and the answer is the one
``quiet_until`` gives without them; a moment of another customer state or another time is not used."""
from __future__ import annotations

from journeyflow.model.decisions import Candidate
from journeyflow.stages.arbitration.arbiter import Arbiter
from journeyflow.stages.deliverability import see_address
from journeyflow.stages.state import CustomerState

HOUR = 3_600_000
DAY0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z


def _new_york_phone() -> CustomerState:
    s = CustomerState(customer_id="c1")
    see_address(s, "phone:ny", "phone", "+12125550100", DAY0 - HOUR)  # New York: quiet 21:00-08:00 EST
    return s


def _tokyo() -> CustomerState:
    s = CustomerState(customer_id="c2", tz="Asia/Tokyo")
    see_address(s, "phone:tk", "phone", "+81312345678", DAY0 - HOUR)
    return s


def _text(now: int) -> Candidate:
    return Candidate("dunning", "retry_sms", "transactional", 800, "send", "sms", "payment_retry_sms", "t1", now,
                     entered=now)


def test_the_moments_answers_are_the_ones_worked_out_afresh():
    arbiter = Arbiter()
    quiet_seen = False
    for hour in range(0, 48, 1):
        now = DAY0 + hour * HOUR + 17_000
        for make in (_new_york_phone, _tokyo):
            state = make()
            c = _text(now)
            res = arbiter.arbitrate(state, [c], now, state.customer_id, "t1")
            assert res.moment is not None and res.moment.state is state
            fresh = Arbiter().quiet_until(state, c, now)
            assert arbiter.quiet_until(state, c, now, res.moment) == fresh
            quiet_seen = quiet_seen or fresh > 0
    assert quiet_seen  # (some hours are quiet: the due times were worked out, not all 0)


def test_a_moment_of_another_state_or_time_is_not_used():
    arbiter = Arbiter()
    differ = 0
    for hour in range(0, 24):
        now = DAY0 + hour * HOUR
        ny, tokyo = _new_york_phone(), _tokyo()
        c = _text(now)
        res = arbiter.arbitrate(ny, [c], now, ny.customer_id, "t1")
        # another customer: Tokyo's quiet hours, not New York's
        assert arbiter.quiet_until(tokyo, c, now, res.moment) == Arbiter().quiet_until(tokyo, c, now)
        # the same customer an hour later
        later = _text(now + HOUR)
        assert arbiter.quiet_until(ny, later, now + HOUR, res.moment) == Arbiter().quiet_until(ny, later, now + HOUR)
        differ += Arbiter().quiet_until(tokyo, c, now) != Arbiter().quiet_until(ny, c, now)
    assert differ  # (the two customers' answers differ at some hours: the check can fail)


def test_the_result_compares_and_prints_without_its_moment():
    arbiter = Arbiter()
    state = _new_york_phone()
    now = DAY0 + 15 * HOUR
    a = arbiter.arbitrate(state, [_text(now)], now, "c1", "t1")
    b = arbiter.arbitrate(_new_york_phone(), [_text(now)], now, "c1", "t1")
    assert a.moment is not b.moment and a == b
    assert "moment" not in repr(a)
