"""``journeyflow generate --out DIR`` into a folder holding an earlier population, with an option the generator
refuses (QA round 9): the earlier population was deleted *before* the options were checked, so a mistyped
``--customers 0``, ``--start 2026-13-01`` or ``--inject_effect welcome=0.1`` (no control group) ended in exit 2 and
an empty folder.  Now the options are checked at parse time (naming the option) and the new population is written
to a staging folder first: the old one is replaced only by a complete new one."""
from __future__ import annotations

import pytest

from journeyflow.cli import main


def _main(argv: list[str]) -> int:
    """``main``'s exit code; a usage error found by argparse exits (SystemExit 2) instead of returning."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "data"
    assert main(["generate", "--out", str(out), "--customers", "8", "--days", "2"]) == 0
    return out


@pytest.mark.parametrize("bad", [
    ["--customers", "0"],
    ["--days", "-1"],
    ["--start", "2026-13-01"],
    ["--malformed_rate", "1"],
    ["--segment_share", "2"],
    ["--inject_effect", "cart_abandonment=5"],
    ["--inject_effect", "welcome=0.1"],  # a journey without control group: refused by the effect generator
    ["--inject_effect", "cart_abandonment=0.5", "--effect_base_rate", "0.9"],
])
def test_a_refused_option_leaves_the_previous_population(population, capsys, bad):
    before = _snapshot(population)
    code = _main(["generate", "--out", str(population), "--customers", "8", "--days", "2", *bad])
    err = capsys.readouterr().err
    assert code == 2, err
    assert bad[0] in err or "inject_effect" in err  # the option is named
    assert _snapshot(population) == before  # nothing deleted, nothing half-written, no staging folder left


def test_a_good_run_still_replaces_the_population(population, capsys):
    assert main(["generate", "--out", str(population), "--customers", "9", "--inject_effect",
                 "cart_abandonment=0.1"]) == 0
    assert "replaced the previous population" in capsys.readouterr().err
    assert sorted(p.name for p in population.iterdir()) == ["effect_truth.json", "orders.jsonl", "web.jsonl"]


def test_an_out_that_is_a_file_is_named(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("mine")
    for out in (f, f / "sub"):
        assert main(["generate", "--out", str(out), "--customers", "3", "--days", "1"]) == 2
        assert f"--out {out}" in capsys.readouterr().err
    assert f.read_text() == "mine"
