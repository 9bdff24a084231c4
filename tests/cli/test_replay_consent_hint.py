"""``journeyflow replay`` of an input without a consent stream (an export of web, orders and CRM only): every
marketing send is suppressed for ``consent`` (the shipped policy needs an explicit grant), which read as a run where
journeyflow decided not to message anyone, without a hint why (QA round 9).  Now a warning names the missing stream;
an input with one gets none."""
from __future__ import annotations

from datetime import timedelta

from journeyflow.cli import main
from tests.scenarios import Scenario


def _scenario(consent: tuple[str, ...]) -> Scenario:
    sc = Scenario()
    sc.contact(timedelta(0), "c1", email="ann@example.com", consent=consent, stage="lead")
    sc.add("web", timedelta(minutes=5), user_id="c1", type="add_to_cart", product_id="P1")
    return sc


def test_consent_suppressions_without_a_consent_stream_are_explained(tmp_path, capsys):
    inp = _scenario(consent=()).write(tmp_path / "in")
    assert not (inp / "consent.jsonl").exists()
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"]) == 0
    err = capsys.readouterr().err
    assert "suppressed for consent" in err and "no consent stream" in err and str(inp) in err


def test_an_input_with_a_consent_stream_gets_no_such_warning(tmp_path, capsys):
    inp = _scenario(consent=("email",)).write(tmp_path / "in")
    assert (inp / "consent.jsonl").exists()
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"]) == 0
    assert "no consent stream" not in capsys.readouterr().err
