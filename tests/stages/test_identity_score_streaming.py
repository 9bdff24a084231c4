"""``journeyflow score-identity`` on a links table written by streaming: each row's ``customer_id`` is the root at
the time of that link, so the rows of one chain (anonymous → email → CRM id) carry different customer ids.  The
score clusters by the accepted links themselves, so it is the replay's figure either way."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from journeyflow.analytics.identity_score import score_output
from journeyflow.stages.identity.keys import Hasher

HASHER = Hasher(b"test-key-identity-score-streaming")


def _write(tmp_path, rows):
    data, out = tmp_path / "data", tmp_path / "out" / "tables" / "identity_links"
    data.mkdir()
    out.mkdir(parents=True)
    persons = [{"person_id": "P1", "crm_id": "C1", "emails": ["ann@example.com"], "phones": [],
                "anonymous_ids": ["d1", "d2"]},
               {"person_id": "P2", "crm_id": "C2", "emails": ["bob@example.com"], "phones": [],
                "anonymous_ids": ["d3"]}]
    (data / "ground_truth.jsonl").write_text("".join(json.dumps(p) + "\n" for p in persons))
    cols = ["identifier_a", "identifier_b", "customer_id", "status"]
    pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}), out / "part-0.parquet")
    return data, tmp_path / "out"


def test_chain_rows_with_the_root_of_their_time_score_as_one_customer(tmp_path):
    ann, bob = HASHER.email("ann@example.com")[0], HASHER.email("bob@example.com")[0]
    rows = [  # as streaming writes them: the root when each link was applied
        (ann, "anon:d1", ann, "accepted"),        # login by email on device 1
        (ann, "anon:d2", ann, "accepted"),        # and on device 2
        ("crm:C1", ann, "crm:C1", "accepted"),    # the CRM record names the email
        ("crm:C2", bob, "crm:C2", "accepted"),
        (bob, "anon:d3", "crm:C2", "accepted"),
    ]
    data, out = _write(tmp_path, rows)
    sc = score_output(data, out, HASHER)
    assert (sc.score.precision, sc.score.recall) == (1.0, 1.0)  # before: recall 5/9 (d1, d2 apart from ann, C1)
    assert sc.score.pairs_tp == 6 + 3 and sc.shared_merged_persons == 0


def test_a_wrong_merge_is_counted_whatever_the_rows_customer_ids(tmp_path):
    ann, bob = HASHER.email("ann@example.com")[0], HASHER.email("bob@example.com")[0]
    rows = [("crm:C1", ann, "crm:C1", "accepted"), (bob, "anon:d1", bob, "accepted"),
            (ann, "anon:d1", "crm:C1", "accepted")]  # d1 joins ann's and bob's clusters
    data, out = _write(tmp_path, rows)
    sc = score_output(data, out, HASHER)
    assert sc.shared_merged_persons == 2 and sc.score.pairs_fp > 0
