"""``journeyflow replay``'s consent hint also for a consent stream file with nothing in it (QA of session 9, qa9f).

Before: the warning that candidates were suppressed for consent because --input has no consent stream looked only
at whether ``consent.jsonl`` existed, so an empty (or blank) export of the preference centre, a common way to get
none, left every marketing send suppressed without the hint.  Now an empty or blank consent/track file counts as
none; one with records still gets no warning."""
from __future__ import annotations

from datetime import timedelta

import pytest

from journeyflow.cli import main
from tests.scenarios import Scenario


def _input(tmp_path, consent_text: str | None, track_text: str | None = None):
    sc = Scenario()
    sc.contact(timedelta(0), "c1", email="ann@example.com", consent=(), stage="lead")
    sc.add("web", timedelta(minutes=5), user_id="c1", type="add_to_cart", product_id="P1")
    inp = sc.write(tmp_path / "in")
    for name, text in (("consent.jsonl", consent_text), ("track.jsonl", track_text)):
        if text is not None:
            (inp / name).write_text(text)
    return inp


@pytest.mark.parametrize("consent, track", [("", None), ("\n\n", None), ("", "  \n")])
def test_an_empty_consent_file_gets_the_hint(tmp_path, capsys, consent, track):
    inp = _input(tmp_path, consent, track)
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"]) == 0
    err = capsys.readouterr().err
    assert "suppressed for consent" in err and "no consent stream" in err


def test_a_consent_file_with_a_record_gets_none(tmp_path, capsys):
    rec = ('{"event_id":"k1","ts":"2026-10-01T00:00:00Z","crm_id":"other","channel":"email",'
           '"status":"revoked"}\n')
    inp = _input(tmp_path, rec)
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"]) == 0
    assert "no consent stream" not in capsys.readouterr().err


_TRACK = ('{"messageId":"m1","type":"track","event":"Newsletter Joined","userId":"c1",'
          '"timestamp":"2026-10-01T00:00:00Z","properties":{"channel":"email"}}\n')


def test_segment_messages_under_a_mapping_that_grants_nothing_get_the_hint(tmp_path, capsys):
    """The shipped mapping maps no event to a consent grant: Segment messages give no consent, so the hint is due
    (it was not given when track.jsonl existed)."""
    inp = _input(tmp_path, None, _TRACK)
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"]) == 0
    err = capsys.readouterr().err
    assert "no consent stream" in err
    # (it said "nor Segment messages (track)" beside a track.jsonl: what is missing is a mapping to a grant, qa16c)
    assert "nor Segment messages" not in err and "maps no event to a consent grant" in err


def test_segment_messages_under_a_mapping_that_grants_consent_get_none(tmp_path, capsys):
    inp = _input(tmp_path, None, _TRACK.replace('"c1"', '"someone-else"'))  # c1 still suppressed for consent
    mapping = tmp_path / "map.yaml"
    mapping.write_text("version: 1\nevents:\n  Newsletter Joined:\n    stream: consent\n    type: consent_granted\n"
                       "    attrs:\n      channel: {from: [properties.channel]}\n")
    assert main(["replay", "--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end",
                 "--segment_mapping", str(mapping)]) == 0
    assert "no consent stream" not in capsys.readouterr().err
