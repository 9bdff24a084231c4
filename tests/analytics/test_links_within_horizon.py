"""``identity_links`` holds the links the replay applied, and nothing after its horizon (QA round 2 of issue 17's
``--until``): an event dated after ``--until`` is a dead letter and its links are not applied (``test_replay_horizon``),
yet the table listed them as ``accepted``, and every earlier row's ``customer_id`` was the root of a graph that
included them (a CRM record after the horizon made an earlier device–email link read as the CRM customer's, while
the output's customer was the email's).  A lookup or an analyst joining through the table got customers the
output does not have."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.analytics.tables import read_table
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import T0, Scenario


@pytest.mark.parametrize("extra", [[], ["--buckets", "2"]], ids=["one-pipeline", "2-buckets"])
def test_links_of_events_after_until_are_not_listed_nor_move_earlier_rows(tmp_path, extra):
    s = Scenario()
    s.contact(-td(days=2), "CU1", email="u1@example.com")
    s.add("web", td(0), anonymous_id="dev-u1", type="add_to_cart", product_id="SKU-1")
    s.add("web", td(days=3), anonymous_id="dev-u1", user_id="CU1", type="login")  # after the horizon
    s.add("web", td(0), anonymous_id="dev-u9", email="u9@example.com", type="signup")  # device–email link
    s.add("crm", td(days=3), crm_id="CU9", email="u9@example.com", type="contact_created")  # after the horizon
    out = tmp_path / "out"
    summary = run_replay(["--input", str(s.write(tmp_path / "in")), "--output", str(out),
                          "--until", (T0 + td(days=1)).isoformat(), *extra])
    assert summary.reconciles and summary.dead_letters["timestamp_out_of_range"] == 2
    links = read_table(out, "identity_links").to_pylist()
    horizon = T0 + td(days=1)
    assert links and all(r["ts"] <= horizon for r in links), [(r["event_id"], r["ts"]) for r in links]
    snapshots = {r["customer_id"]: set(r["identifiers"]) for r in read_table(out, "customer_snapshots").to_pylist()}
    of = {k: c for c, ids in snapshots.items() for k in ids}
    # every row's customer is the customer the output holds its identifiers under
    for r in links:
        if r["status"] == "accepted":
            assert of[r["identifier_a"]] == of[r["identifier_b"]] == r["customer_id"], r
    assert "crm:CU9" not in snapshots and "anon:dev-u1" in snapshots
