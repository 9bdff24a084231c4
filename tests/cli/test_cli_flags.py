"""Issue 21: unknown and misspelled flags (Beam's included) are errors with a suggestion, every option has help text
and a default, one flag style with the old spellings as deprecated aliases, ``--version``."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from journeyflow.cli import COMMANDS, build_parser, main, subparser
from journeyflow.cli.common import visible_options


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse: --help, --version, usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _parsers():
    """(name, parser) of every command and sub-command."""
    top = build_parser()
    out = []
    for name in COMMANDS:
        p = subparser(top, name)
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            out += [(f"{name} {s}", sp) for s, sp in subs[0].choices.items()]
        else:
            out.append((name, p))
    return out


@pytest.mark.parametrize("argv, suggestion", [
    (["--runer", "DataflowRunner"], "did you mean --runner?"),
    (["--bogus-flag", "1"], "--bogus-flag"),
    (["--direct_num_worker", "2"], "did you mean --direct_num_workers?"),
    (["--unitl", "end"], "did you mean --until?"),
    (["--link-rules", "x.yaml"], "did you mean --link_rules?"),
])
def test_replay_rejects_unknown_and_misspelled_beam_flags(capsys, tmp_path, argv, suggestion):
    code, out, err = _run(capsys, "replay", "--input", str(tmp_path), "--output", str(tmp_path / "o"), *argv)
    assert code == 2 and "unrecognized arguments" in err and suggestion in err
    assert not (tmp_path / "o").exists()  # nothing ran


def test_stream_rejects_a_misspelled_beam_flag(capsys):
    code, _, err = _run(capsys, "stream", "--runner", "DataflowRunner", "--temp_locaton", "gs://b/t")
    assert code == 2 and "did you mean --temp_location?" in err


def test_valid_beam_flags_pass_the_check():
    from journeyflow.pipelines.options import unknown_options
    assert unknown_options(["--runner", "DataflowRunner", "--direct_num_workers=2", "--project", "p",
                            "--region", "europe-west1", "--until", "end", "--save_main_session"]) == []
    assert unknown_options(["--runer", "DataflowRunner", "--bogus-flag", "1", "stray"]) == \
        ["--runer", "--bogus-flag", "stray"]


def test_other_commands_reject_unknown_flags_with_a_suggestion(capsys, tmp_path):
    code, _, err = _run(capsys, "generate", "--out", str(tmp_path), "--custmers", "3")
    assert code == 2 and "did you mean --customers?" in err
    code, _, err = _run(capsys, "topics", "create", "--prefx", "x")
    assert code == 2 and "did you mean --topic_prefix?" in err
    code, _, err = _run(capsys, "genrate", "--out", str(tmp_path))
    assert code == 2 and "did you mean generate?" in err


def test_no_abbreviated_flags(capsys, tmp_path):
    code, _, err = _run(capsys, "generate", "--out", str(tmp_path), "--cust", "3")
    assert code == 2 and "--cust" in err


@pytest.mark.parametrize("name, parser", _parsers(), ids=[n for n, _ in _parsers()])
def test_every_option_has_help_and_shows_its_default(name, parser):
    text = parser.format_help()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help text"
        if action.option_strings and action.default is not argparse.SUPPRESS:
            formatted = parser._get_formatter()._expand_help(action)
            assert "default" in formatted.lower() or "(required)" in formatted, (name, action.option_strings)
    assert "usage:" in text


@pytest.mark.parametrize("cmd, flags", [
    ("replay", ["--input", "--output", "--until", "--link_rules", "--default_region", "--journeys", "--policy"]),
    ("stream", ["--project", "--topic_prefix", "--identity_store", "--allowed_lateness", "--resume", "--catch_up",
                "--tables", "--link_rules", "--default_region"]),
])
def test_pipeline_commands_list_their_pipeline_options(capsys, cmd, flags):
    code, out, _ = _run(capsys, cmd, "--help")
    assert code == 0
    for flag in flags:
        assert flag in out
    assert "(default: US)" in out and "--help_beam" in out and "Apache Beam pipeline option" in out
    assert "journeyflow.pipelines.options" not in out


def test_help_beam_and_the_options_module_list_beams_options(capsys):
    code, out, _ = _run(capsys, "replay", "--help_beam")
    assert code == 0 and "--runner" in out and "--temp_location" in out and "--until" not in out
    res = subprocess.run([sys.executable, "-m", "journeyflow.pipelines.options", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and "--runner" in res.stdout and "--allowed_lateness" in res.stdout


def test_version_and_a_user_facing_top_level_help(capsys):
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.startswith("journeyflow ")
    code, out, _ = _run(capsys, "--help")
    description = out.split("\n\n")[1]
    assert code == 0 and description.startswith("journeyflow decides") and "``" not in out
    assert "Exit codes" in out


def test_one_flag_style():
    """Beam's style everywhere: --snake_case, and --project / --topic_prefix for Pub/Sub."""
    top = build_parser()
    flags = {f for name in COMMANDS for f in visible_options(subparser(top, name))}
    assert not [f for f in flags if "-" in f[2:]], "hyphenated flags"
    assert "--prefix" not in flags and "--project_id" not in flags and "--topic_prefix" in flags


@pytest.mark.parametrize("old, new, argv", [
    ("--malformed-rate", "--malformed_rate", ["generate", "--out", "X", "--malformed-rate", "0.1"]),
    ("--max-rows", "--max_rows", ["query", "OUT", "SELECT 1", "--max-rows", "5"]),
    ("--list-examples", "--list_examples", ["query", "--list-examples"]),
    ("--failures-only", "--failures_only", ["validate", "OUT", "--failures-only"]),
    ("--min-precision", "--min_precision", ["score-identity", "--input", "I", "--output", "O",
                                            "--min-precision", "0.9"]),
    ("--prefix", "--topic_prefix", ["topics", "create", "--prefix", "dev-"]),
    ("--prefix", "--topic_prefix", ["publish", "--input", "I", "--prefix", "dev-"]),
    ("--shift-to-now", "--shift_to_now", ["publish", "--input", "I", "--shift-to-now"]),
    ("--no-ack", "--no_ack", ["consume", "--topic", "decisions-email", "--no-ack"]),
    ("--work-dir", "--work_dir", ["compare", "--input", "I", "--work-dir", "W"]),
    ("--project_id", "--project", ["stream", "--project_id", "p1"]),
])
def test_old_spellings_are_deprecated_aliases(capsys, old, new, argv):
    ns, rest = build_parser().parse_known_args(argv)
    err = capsys.readouterr().err
    assert rest == [] and f"{old} is deprecated, use {new}" in err
    value = {"--malformed_rate": ("malformed_rate", 0.1), "--max_rows": ("max_rows", 5),
             "--list_examples": ("list_examples", True), "--failures_only": ("failures_only", True),
             "--min_precision": ("min_precision", 0.9), "--topic_prefix": ("prefix", "dev-"),
             "--shift_to_now": ("shift_to_now", True), "--no_ack": ("no_ack", True),
             "--work_dir": ("work_dir", "W"), "--project": ("project", "p1")}[new]
    assert getattr(ns, value[0]) == value[1]


def test_stream_options_reach_beam():
    from journeyflow.config.options import STREAM, to_argv
    ns, rest = build_parser().parse_known_args(["stream", "--project", "p", "--topic_prefix", "dev-", "--resume",
                                                "--allowed_lateness", "5s", "--runner", "DataflowRunner"])
    argv = to_argv(ns, STREAM)
    assert argv == ["--allowed_lateness=5s", "--resume=true", "--topic_prefix=dev-"]  # (one argument each: qa8d)
    assert rest == ["--runner", "DataflowRunner"]
