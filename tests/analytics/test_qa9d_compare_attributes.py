"""``journeyflow compare`` on journeys that read declared traits and computed attributes (QA round 9): compare had
no ``--attributes`` (nor ``--segment_mapping`` / ``--link_rules``), so the README's own custom-journey example
(``examples/trial_ending``: ``customer.traits.plan``, ``customer.traits.logins_7d``) could not be compared at all
(``unknown field 'plan' of customer.traits``, exit 2), and the automation baseline ran its journeys without the
computed attributes even where the config had them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeyflow.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's usage errors
        return int(e.code)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cmp") / "compare.json"
    code = _main(["compare", "--input", str(EXAMPLE), "--journeys", str(EXAMPLE / "journeys.yaml"),
                  "--attributes", str(EXAMPLE / "attributes.yaml"), "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text())


def test_the_trial_ending_example_compares_with_its_attributes_file(report):
    jf = report["journeyflow"]
    assert jf["messages"]["email"] == 1  # the README's one email to ann@example.com
    assert report["fold_check"]["identical"]


def test_the_baseline_reads_the_declared_traits_too(report):
    # the automation side runs the same journey: its condition needs the plan trait from the identify call
    assert report["automation"]["messages"]["email"] == 1


def test_without_the_attributes_file_the_error_names_the_field(capsys):
    code = _main(["compare", "--input", str(EXAMPLE), "--journeys", str(EXAMPLE / "journeys.yaml")])
    assert code == 2 and "customer.traits" in capsys.readouterr().err
