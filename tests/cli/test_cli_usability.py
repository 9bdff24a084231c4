"""Command line found by QA round 3: misspelled sub-commands get a suggestion, ``query --format csv|json`` writes
every table (list and struct columns included) in a form other tools read back, ``--max_rows`` refuses negatives."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "analytics"))
from test_quality import build_output, good_rows  # noqa: E402  the shared hand-made output

from journeyflow.cli import main  # noqa: E402


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, suggestion", [
    (["journeys", "valdate", "x.yaml"], "did you mean validate?"),
    (["journeys", "rendr", "--out", "x.html"], "did you mean render?"),
    (["topics", "craete"], "did you mean create?"),
    (["topics", "delte", "--project", "p"], "did you mean delete?"),
])
def test_a_misspelled_sub_command_is_an_error_with_a_suggestion(capsys, argv, suggestion):
    code, _, err = _run(capsys, *argv)
    assert code == 2 and suggestion in err and "unknown command" in err


def test_a_missing_sub_command_names_the_choices(capsys):
    code, _, err = _run(capsys, "journeys")
    assert code == 2 and "{render,validate}" in err and "journeys_cmd" not in err


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return build_output(tmp_path_factory.mktemp("cli"))


def test_csv_writes_list_and_struct_columns_as_json(out, capsys):
    """Every table, as an analyst exports it: before, a table with a list column failed ("Unsupported Type: list")."""
    rows = good_rows()
    for table in ("decisions", "suppressed_candidates", "customer_snapshots", "identity_links", "journey_steps"):
        code, text, err = _run(capsys, "query", str(out), f"SELECT * FROM {table}", "--format", "csv")
        assert code == 0, err
        got = list(csv.DictReader(io.StringIO(text)))
        assert len(got) == len(rows[table]), table
    code, text, _ = _run(capsys, "query", str(out), "SELECT decision_id, reason_codes, candidates FROM decisions "
                                                    "ORDER BY decision_id", "--format", "csv")
    got = {r["decision_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for d in rows["decisions"]:
        assert json.loads(got[d["decision_id"]]["reason_codes"]) == d["reason_codes"]
        assert [c["reason"] for c in json.loads(got[d["decision_id"]]["candidates"])] == \
            [c["reason"] for c in d["candidates"]]


def test_json_writes_times_as_iso_8601(out, capsys):
    code, text, _ = _run(capsys, "query", str(out), "SELECT decided_at FROM decisions ORDER BY decided_at LIMIT 1",
                         "--format", "json")
    value = json.loads(text)[0]["decided_at"]
    assert code == 0 and value.endswith("Z") and "T" in value  # 2026-10-05T23:00:00Z, not '2026-10-05 23:00:00+00:00'


def test_max_rows_must_not_be_negative(out, capsys):
    code, _, err = _run(capsys, "query", str(out), "SELECT 1", "--max_rows", "-1")
    assert code == 2 and "--max_rows" in err


def test_every_option_of_every_command_is_in_the_readme():
    """``journeyflow COMMAND --help`` and the README's "Command line" section name the same options (the README
    table had no --path, --min_ts, --json, --opt_in_baseline, --no_ack …)."""
    import argparse

    from journeyflow.cli import COMMANDS, build_parser, subparser
    from journeyflow.cli.common import visible_options
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Command line"):readme.index("### Replay contract")]
    top = build_parser()
    missing = {}
    for name in COMMANDS:
        p = subparser(top, name)
        opts = [o for o in visible_options(p) if o != "--help"]
        if name in ("replay", "stream"):  # their pipeline options are listed by --help and in the sections below
            opts = [o for a in p._actions if isinstance(a, argparse.Action) and a.dest in ("input", "output",
                    "overwrite", "journeys", "policy", "until", "project", "topic_prefix", "tables")
                    for o in a.option_strings if o.startswith("--")]
        gone = [o for o in opts if not any(f"{o}{end}" in section for end in (" ", "`", "]", "=", ","))]
        if gone:
            missing[name] = gone
    assert not missing, missing


@pytest.mark.parametrize("argv", [["report", "{out}", "--path", "{dir}"], ["journeys", "render", "--out", "{dir}"]])
def test_an_output_path_that_is_a_folder_is_one_line_and_exit_2(out, tmp_path, capsys, argv):
    code, _, err = _run(capsys, *[a.format(out=out, dir=tmp_path) for a in argv])
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "Is a directory" in err and str(tmp_path) in err


def test_a_lookup_with_another_hash_key_says_so(tmp_path, monkeypatch, capsys):
    """An email looked up with a JOURNEYFLOW_HASH_KEY other than the replay's can never match: the error says why
    (the manifest's key fingerprint), instead of claiming there is no such customer."""
    from journeyflow.analytics.lookup import CustomerNotFound, find_customer
    from journeyflow.pipelines.output import key_check
    from journeyflow.stages.identity.keys import Hasher
    from test_quality import C, T0

    email, replay_key = "Ann.Example@Example.org", Hasher(b"the-replays-key-0123")
    rows = good_rows()
    rows["identity_links"].append({"identifier_a": C(3), "identifier_b": replay_key.email(email)[0],
                                   "customer_id": C(3), "event_id": "crm/evt-000300", "stream": "crm", "ts": T0,
                                   "status": "accepted", "reason": None})
    out = build_output(tmp_path / "out", rows)
    (out / "run.json").write_text(json.dumps({"hash_key_check": key_check(replay_key)}))
    assert find_customer(out, email, hasher=replay_key) == C(3)
    with pytest.raises(CustomerNotFound, match="not the key this replay hashed with"):
        find_customer(out, email, hasher=Hasher(b"some-other-key-0123"))
    with pytest.raises(CustomerNotFound) as e:  # the right key, an unknown address: no such customer, no key hint
        find_customer(out, "nobody@example.org", hasher=replay_key)
    assert "key" not in str(e.value)
    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "some-other-key-0123")
    code, _, err = _run(capsys, "query", str(out), "--example", "why_no_cart_reminder", "--customer", email)
    assert code == 2 and "JOURNEYFLOW_HASH_KEY" in err and "ann.example" not in err.lower()


def test_validate_writes_nothing_but_its_report(out):
    """Not a terminal: stderr stays empty (GX logged 'Created temporary directory … for ephemeral docs site' at INFO on
    every run)."""
    import os
    import subprocess
    env = {**os.environ, "JOURNEYFLOW_HASH_KEY": "test-key", "JOURNEYFLOW_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, "-c", "import sys; from journeyflow.cli import main; sys.exit(main())",
                           "validate", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1) and "data quality of" in proc.stdout
    assert proc.stderr == "", proc.stderr


@pytest.mark.parametrize("value", ["1.1", "-0.2", "nan", "high"])
def test_score_identity_minimums_are_fractions(capsys, tmp_path, value):
    code, _, err = _run(capsys, "score-identity", "--input", str(tmp_path), "--output", str(tmp_path),
                        "--min_recall", value)
    assert code == 2 and "--min_recall" in err


def test_render_refuses_to_overwrite_the_journeys_file(tmp_path, capsys):
    from journeyflow.config.engine import default_text
    src = tmp_path / "my journeys.yaml"
    src.write_text(default_text("journeys.yaml"))
    code, _, err = _run(capsys, "journeys", "render", str(src), "--out", str(tmp_path / "." / "my journeys.yaml"))
    assert code == 2 and "journeys file itself" in err
    assert src.read_text() == default_text("journeys.yaml")
    code, out, _ = _run(capsys, "journeys", "render", str(src), "--out", str(tmp_path / "j.html"))
    assert code == 0 and (tmp_path / "j.html").read_text().lstrip().lower().startswith("<!doctype html")
