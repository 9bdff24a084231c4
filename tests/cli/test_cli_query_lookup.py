"""Issue 21: ``query --example`` needs its parameters (exit 2 naming a missing one), and a customer is found by id,
identifier key, email or phone (hashed with the configured key), or is an error."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "analytics"))
from test_quality import C, T0, build_output, good_rows  # noqa: E402  the shared hand-made output

from journeyflow.analytics.lookup import CustomerNotFound, find_customer, identifier_key  # noqa: E402
from journeyflow.cli import main  # noqa: E402
from journeyflow.config.errors import UserError  # noqa: E402
from journeyflow.stages.identity.keys import Hasher  # noqa: E402

EMAIL, PHONE = "Ann.Example@Example.org", "+1 415 555 0100"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """The shared output plus links of C(3) to a hashed email and phone (hashed with the key set below)."""
    hasher = Hasher(b"lookup-test-key")
    rows = good_rows()
    for key in (hasher.email(EMAIL)[0], hasher.phone(PHONE)[0]):
        rows["identity_links"].append({"identifier_a": C(3), "identifier_b": key, "customer_id": C(3),
                                       "event_id": "crm/evt-000300", "stream": "crm", "ts": T0,
                                       "status": "accepted", "reason": None})
    return build_output(tmp_path_factory.mktemp("lookup"), rows)


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "lookup-test-key")


def _query(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["query", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_customer_is_found_by_id_email_or_phone(out):
    assert find_customer(out, C(3)) == C(3)
    assert find_customer(out, EMAIL.upper()) == C(3)  # normalized like the pipeline does
    assert find_customer(out, "(415) 555-0100") == C(3)  # default region US
    assert find_customer(out, "anon:dev-000123456789") == C(2)
    with pytest.raises(CustomerNotFound, match="crm:C51508877"):
        find_customer(out, "crm:C51508877")
    with pytest.raises(CustomerNotFound) as e:
        find_customer(out, "nobody@example.org")
    assert "nobody" not in str(e.value)  # no raw PII in messages
    with pytest.raises(UserError):
        identifier_key("not an identifier")


def test_the_hash_key_matters(out, monkeypatch):
    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "another-key")
    with pytest.raises(CustomerNotFound):
        find_customer(out, EMAIL)


def test_example_by_email_phone_or_id(out, capsys):
    for who in (["--customer", EMAIL], ["--customer", PHONE], ["--param", f"customer_id={C(3)}"],
                ["--param", f"customer_id={EMAIL}"]):
        code, text, err = _query(capsys, str(out), "--example", "why_no_cart_reminder", *who)
        assert code == 0, err
        assert "control_group" in text and C(3) in text and C(4) not in text


def test_a_missing_or_unknown_parameter_is_an_error(out, capsys):
    code, text, err = _query(capsys, str(out), "--example", "why_no_cart_reminder")
    assert code == 2 and "needs --param customer_id=" in err and text == ""
    code, _, err = _query(capsys, str(out), "--example", "why_no_cart_reminder", "--param", "custmer_id=x")
    assert code == 2 and "did you mean customer_id?" in err
    code, _, err = _query(capsys, str(out), "--example", "why_no_cart_reminder", "--customer", "crm:C51508877")
    assert code == 2 and "no customer" in err
    code, _, err = _query(capsys, str(out), "--example", "journey_funnl")
    assert code == 2 and "did you mean journey_funnel?" in err


def test_a_bare_crm_id_is_told_how_to_write_it():
    """``--customer C55391637`` (a CRM id without its kind) was read as a phone number and refused with a message
    about phone regions only (qa9f); the message now shows the ``crm:`` form.  A misspelt phone gets no such hint."""
    import pytest
    from journeyflow.analytics.lookup import identifier_key
    from journeyflow.config.errors import UserError
    with pytest.raises(UserError, match=r"crm:C55391637\)"):
        identifier_key("C55391637")
    with pytest.raises(UserError) as e:
        identifier_key("555-01")
    assert "a CRM id is written" not in str(e.value)


@pytest.mark.parametrize("at", ["＠", "﹫"])
def test_an_email_typed_with_a_wide_at_sign_is_looked_up_as_that_email(at):
    """The parsers read ``ann＠x.com`` (an at-sign typed full-width or small, as East Asian input methods write it)
    as ``ann@x.com``; the look-up decided email-or-phone by a plain ``@`` and refused it as no phone number."""
    h = Hasher(b"k")
    assert identifier_key(f"ann{at}example.com", h) == identifier_key("ann@example.com", h)
