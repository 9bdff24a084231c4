"""qa17c: ``journeyflow validate`` fails an output where a journey acted on its own control group.

The report's uplift compares the randomized arms on the promise that a control customer is never messaged by the
journey (arbitration rule 1, ``control_group``).  A send of the journey to a customer whose every entry of it was
drawn ``control`` (a holdout leak: an arbiter change, a replayed output edited by hand, a journeys file whose
control share changed between runs...) passed every check, and the uplift silently compared treated with treated.
Now ``no_action_for_control_customer`` names it.  A customer also entered in the treatment arm (two profiles
merged, history expired) is not checked: their merged membership may rightly be the treated one."""
from __future__ import annotations

from journeyflow.analytics.quality import validate_output
from tests.analytics.test_quality import DAY, HOUR, T0, C, _dec, _steps, build_output, good_rows

CA = "cart_abandonment"
CHECK = ("decisions", "no_action_for_control_customer")


def _with_arms(rows: dict) -> dict:
    """good_rows with C3 (whose cart reminder the control group suppressed) entered as control, the others as
    treatment."""
    for s in rows["journey_steps"]:
        if s["kind"] == "entered":
            s["detail"] = "control" if s["customer_id"] == C(3) and s["journey_id"] == CA else "treatment"
    return rows


def _by(tmp_path, rows):
    rep = validate_output(build_output(tmp_path, rows))
    return rep, {(r.table, r.check): r for r in rep.results}


def test_the_good_output_with_arms_passes(tmp_path):
    rep, by = _by(tmp_path, _with_arms(good_rows()))
    assert rep.failed_checks() == set() and by[CHECK].success and by[CHECK].element_count > 0


def test_a_send_of_the_journey_to_a_control_customer_fails(tmp_path):
    rows = _with_arms(good_rows())
    rows["decisions"] += [
        _dec("d_000000000000000000000201", C(3), T0 + 2 * DAY + 12 * HOUR, "send", CA, "reminder_2", "sms",
             trigger="web/evt-000201"),
        _dec("d_000000000000000000000202", C(3), T0 + 2 * DAY + 23 * HOUR, "wait", CA, "reminder_2", "sms",
             codes=("quiet_hours_deferred",), trigger="web/evt-000202")]
    rep, by = _by(tmp_path, rows)
    assert rep.failed_checks() == {CHECK}  # before: passed
    assert by[CHECK].keys == ("d_000000000000000000000201", "d_000000000000000000000202")


def test_a_control_entry_under_an_id_later_merged_counts_for_the_customer(tmp_path):
    """C2's cart entry recorded under the anonymous id it had before its login (control), the send under crm."""
    rows = _with_arms(good_rows())
    for s in rows["journey_steps"]:
        if s["customer_id"] == C(2) and s["kind"] == "entered":
            s["customer_id"], s["detail"] = "anon:dev-000123456789", "control"
    rep, by = _by(tmp_path, rows)
    assert rep.failed_checks() == {CHECK}
    # its quiet-hours deferral, the reminder sent after it and the SMS
    assert set(by[CHECK].keys) == {"d_000000000000000000000003", "d_000000000000000000000004",
                                   "d_000000000000000000000005"}


def test_a_customer_also_entered_in_treatment_is_not_checked(tmp_path):
    rows = _with_arms(good_rows())
    rows["journey_steps"] += _steps("anon:dev-000123456789", CA, ("entered", None, T0 + 10 * HOUR, None))
    for s in rows["journey_steps"]:
        if s["customer_id"] == "anon:dev-000123456789":
            s["detail"] = "control"  # the anonymous profile drawn control, C2's own entry treatment: merged
    rep, by = _by(tmp_path, rows)
    assert by[CHECK].success and rep.failed_checks() == set()
