"""DuckDB over the analyst tables: views, example queries, parameters, CLI glue."""
from __future__ import annotations

import argparse
import json
from datetime import date

import pytest

from journeyflow.cli.query import add_args as add_query_args, run as cli_query
from journeyflow.analytics.query import EXAMPLE_QUERIES, format_table, query, run_example
from journeyflow.analytics.tables import TABLES
from test_quality import C, good_rows, build_output  # the shared hand-made output


#: The journeys the hand-made output's rows belong to (its run.json manifest): a wait step nobody's row names, and
#: steps in file order
FIXTURE_JOURNEYS = [
    {"id": "cart_abandonment", "name": "Cart", "category": "marketing", "has_goal": True, "control_group_pct": 0,
     "steps": [{"id": "wait_1d", "kind": "wait", "channel": None},
               {"id": "reminder_1", "kind": "send", "channel": "email"},
               {"id": "reminder_2", "kind": "send", "channel": "sms"}]},
    {"id": "welcome", "name": "Welcome", "category": "onboarding", "has_goal": True, "control_group_pct": 0,
     "steps": [{"id": "welcome_1", "kind": "send", "channel": "email"},
               {"id": "call_back", "kind": "create_task", "channel": "crm_task"}]},
]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    o = build_output(tmp_path_factory.mktemp("q"))
    (o / "run.json").write_text(json.dumps({"journeys": FIXTURE_JOURNEYS}))
    return o


def test_every_table_is_a_view(out):
    rows = good_rows()
    for name in TABLES:
        assert query(out, f"SELECT count(*) AS n FROM {name}").column("n").to_pylist() == [len(rows[name])]
    cols = query(out, "SELECT * FROM decisions LIMIT 0").column_names
    assert "date" not in cols and cols[0] == "decision_id"


def test_all_examples_run(out):
    assert {"suppressions_by_reason_per_week", "journey_funnel", "messages_per_customer_per_week",
            "why_no_cart_reminder"} <= set(EXAMPLE_QUERIES)
    for name in EXAMPLE_QUERIES:
        t = run_example(out, name)
        assert t.num_rows > 0, name
        assert format_table(t).endswith(f"({t.num_rows} rows)") or t.num_rows == 1


def test_suppressions_by_reason_per_week(out):
    rows = run_example(out, "suppressions_by_reason_per_week").to_pylist()
    assert sum(r["suppressed"] for r in rows) == len(good_rows()["suppressed_candidates"])
    assert {r["week"] for r in rows} == {date(2026, 10, 5)}  # ISO week starting Monday, UTC
    assert {r["reason"] for r in rows} == {"consent", "control_group", "duplicate_content", "frequency_cap",
                                           "lower_priority", "no_address", "rule:no_weekend"}


def test_journey_funnel(out):
    rows = run_example(out, "journey_funnel").to_pylist()
    cart = [(r["stage"], r["customers"]) for r in rows if r["journey_id"] == "cart_abandonment"]
    # every declared step in file order (the wait step nobody reached too); reminder_2: C2 sent, the device waiting
    assert cart == [("entered", 6), ("step wait_1d", 0), ("step reminder_1", 6), ("step reminder_2", 2),
                    ("goal", 2)]
    welcome = [(r["stage"], r["customers"], r["pct_of_entered"]) for r in rows if r["journey_id"] == "welcome"]
    assert welcome == [("entered", 2, 100.0), ("step welcome_1", 2, 100.0), ("step call_back", 1, 50.0),
                       ("goal", 1, 50.0)]


def test_journey_funnel_without_a_manifest_lists_the_steps_reached_after_the_declared_ones(tmp_path):
    """An output without run.json (the shipped journeys' view, whose step ids the hand-made rows do not use): the
    steps customers reached are still there, after the declared ones, by id."""
    rows = run_example(build_output(tmp_path / "o"), "journey_funnel").to_pylist()
    cart = [(r["stage"], r["customers"]) for r in rows if r["journey_id"] == "cart_abandonment"]
    assert cart[0] == ("entered", 6) and cart[-3:] == [("step reminder_1", 6), ("step reminder_2", 2), ("goal", 2)]
    assert {s for s, n in cart[1:-3]} == {"step wait_1h", "step reminder_email", "step wait_23h", "step reminder_sms"}


def test_an_exit_step_counts_the_customers_who_left_there(out, tmp_path):
    """An ``exit: true`` step is recorded as kind 'exited', detail 'exit_step' with its step id."""
    import shutil

    from journeyflow.analytics.tables import write_table
    o = tmp_path / "exit"
    shutil.copytree(out, o)
    steps = good_rows()["journey_steps"] + [
        {"customer_id": C(4), "journey_id": "welcome", "step_id": "call_back", "kind": "exited",
         "at": max(r["at"] for r in good_rows()["journey_steps"]), "trigger_id": "web/evt-x", "detail": "exit_step"}]
    write_table(o, "journey_steps", steps)
    funnel = {r["stage"]: r["customers"] for r in run_example(o, "journey_funnel").to_pylist()
              if r["journey_id"] == "welcome"}
    reached = {r["step_id"]: r["customers_reached"] for r in run_example(o, "journey_step_outcomes").to_pylist()
               if r["journey_id"] == "welcome"}
    assert funnel["step call_back"] == reached["call_back"] == 2  # C(5) reached it, C(4) left there


def test_journey_funnel_agrees_with_the_outcome_queries(out, tmp_path):
    """The funnel's figures are those of journey_step_outcomes (customers reached per step) and
    journey_conversion_by_arm (entered and converted, summed over arms), also after an identity merge: a
    snapshot of C(2) that holds C(4)'s ids counts the two as one customer in every query."""
    import shutil

    from journeyflow.analytics.tables import write_table
    merged = tmp_path / "merged"
    shutil.copytree(out, merged)
    rows = good_rows()
    snaps = [dict(s, identifiers=s["identifiers"] + [C(4)]) if s["customer_id"] == C(2) else s
             for s in rows["customer_snapshots"] if s["customer_id"] != C(4)]
    write_table(merged, "customer_snapshots", snaps)
    for o, entered_cart in ((out, 6), (merged, 5)):
        funnel = {(r["journey_id"], r["stage"]): r["customers"] for r in run_example(o, "journey_funnel").to_pylist()}
        assert funnel[("cart_abandonment", "entered")] == entered_cart
        reached = {(r["journey_id"], "step " + r["step_id"]): r["customers_reached"]
                   for r in run_example(o, "journey_step_outcomes").to_pylist()
                   if r["journey_id"] in {j["id"] for j in FIXTURE_JOURNEYS}}
        assert {k: v for k, v in funnel.items() if k[1].startswith("step ")} == reached
        arms = run_example(o, "journey_conversion_by_arm").to_pylist()
        for j in ("cart_abandonment", "welcome"):
            assert funnel[(j, "entered")] == sum(r["entered"] for r in arms if r["journey_id"] == j)
            assert funnel[(j, "goal")] == sum(r["converted"] for r in arms if r["journey_id"] == j)


def test_messages_per_customer_per_week(out):
    rows = run_example(out, "messages_per_customer_per_week").to_pylist()
    sends = [d for d in good_rows()["decisions"] if d["action"] == "send"]
    assert sum(r["messages"] for r in rows) == len(sends)
    c2 = {r["channel"]: r["messages"] for r in rows if r["customer_id"] == C(2)}
    assert c2 == {"email": 1, "sms": 1}
    assert all(r["channel"] in ("email", "sms", "push", "call") for r in rows)


def test_why_no_cart_reminder(out):
    everyone = run_example(out, "why_no_cart_reminder").to_pylist()
    assert all(r["customer_id"] != C(1) or r["what"] != "suppressed_candidate" for r in everyone)
    c4 = run_example(out, "why_no_cart_reminder", {"customer_id": C(4)}).to_pylist()
    assert {r["customer_id"] for r in c4} == {C(4)}
    why = [(r["what"], r["channel"], r["reason"], r["decision_action"], r["chosen_journey"]) for r in c4]
    assert ("suppressed_candidate", "sms", "consent", "suppress", None) in why
    assert ("suppressed_candidate", "email", "lower_priority", "send", "welcome") in why
    assert ("journey_exited", None, "goal_timeout", None, None) in why
    c3 = run_example(out, "why_no_cart_reminder", {"customer_id": C(3)}).to_pylist()
    assert [(r["reason"], r["decision_action"]) for r in c3] == [("control_group", "none")]
    assert run_example(out, "why_no_cart_reminder", {"customer_id": "crm:C999999"}).num_rows == 0


def test_conflicts_resolved(out):
    rows = run_example(out, "conflicts_resolved").to_pylist()
    assert {r["reason"]: r["decisions"] for r in rows} == {"lower_priority": 1, "duplicate_content": 1,
                                                          "frequency_cap": 1}


def test_bad_sql_and_params(out):
    import duckdb
    with pytest.raises(duckdb.Error):
        query(out, "SELECT nope FROM decisions")
    with pytest.raises(ValueError):
        query(out, "SELECT 1", params={"bad name": 1})
    with pytest.raises(KeyError):
        run_example(out, "nope")


def _cli(*argv: str) -> int:
    p = argparse.ArgumentParser()
    add_query_args(p)
    return cli_query(p.parse_args(list(argv)))


def test_cli_query(out, capsys):
    assert _cli(str(out), "SELECT action, count(*) AS n FROM decisions GROUP BY ALL ORDER BY action") == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["action", "n"] and "suppress" in text and "(5 rows)" in text
    assert _cli(str(out), "--example", "why_no_cart_reminder", "--param", f"customer_id={C(3)}") == 0
    assert "control_group" in capsys.readouterr().out
    assert _cli(str(out), "--example", "journey_funnel", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == run_example(out, "journey_funnel").to_pylist()
    assert _cli(str(out), "SELECT 1 AS one", "--format", "csv") == 0
    assert capsys.readouterr().out.split() == ['"one"', "1"]
    assert _cli("--list_examples") == 0
    assert "why_no_cart_reminder (--param customer_id=…)" in capsys.readouterr().out
    assert _cli(str(out), "--example", "nope") == 2
    assert _cli(str(out), "SELECT nope") == 2
    assert _cli(str(out)) == 2
    err = capsys.readouterr().err
    assert "unknown example" in err and "BinderException" in err
