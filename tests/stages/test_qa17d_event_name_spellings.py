"""Event names and enum values with invisible characters (qa17d).

A tracking plan copied out of a wiki, a spreadsheet or a right-to-left UI carries characters nobody sees: a zero-width
space, a byte order mark, a left-to-right mark, a soft hyphen, a no-break space for a space, or an accented letter
in its decomposed Unicode form (``e`` + combining acute, as macOS and some iOS strings write ``é``).  journeyflow
already reads event *ids* without them (``keys.event_id_text``), but a Segment event *name* was only trimmed of
spaces, so ``Order Completed`` + a zero-width space was an unmapped ``track`` event (the purchase missed: the cart
reminder went out for what was just bought), ``Email Bounced`` + one recorded no bounce, and a journey on
``Trial Ending Soon`` never fired for ``\u200bTrial Ending Soon``.  The built-in streams' enum values had the same
gap: an engagement ``unsubscribed`` or a consent ``revoked`` with a zero-width space, or ``opted out`` with a
no-break space, was a dead letter, the opt-out lost (``spellings.fold_symbol``).  A name in the configuration files
(journey trigger, declared event, computed attribute, Segment mapping) with such characters could never match and
is refused at load, naming the spelling to write.
"""
from __future__ import annotations

import json

import pytest

from journeyflow.config.errors import UserError
from journeyflow.config.engine import EngineConfig
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.journeys.loader import load_journeys_text
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.calls import event_name_text
from journeyflow.stages.segment.mapping import load_mapping_text

P = Parser(Hasher(b"test-key"))
TS = "2026-10-05T10:00:00.000Z"
ZWSP, BOM, LRM, RLM, SHY, NBSP, WJ = "\u200b", "\ufeff", "\u200e", "\u200f", "\u00ad", "\u00a0", "\u2060"


def parse(stream: str, rec: dict):
    raw = json.dumps(rec, ensure_ascii=False).encode()
    full = P.parse_full(stream, raw, "t:1").result
    assert P.parse(stream, raw, "t:1") == full  # the fast path agrees
    return full


def track(event: str, **kw) -> Event:
    ev = parse("track", {"type": "track", "messageId": "m-1", "userId": "u1", "event": event, "timestamp": TS,
                         "context": {"traits": {"email": "ann@example.com"}}, **kw})
    assert isinstance(ev, Event), ev
    return ev


@pytest.mark.parametrize("event", [
    "Order Completed" + ZWSP, BOM + "Order Completed", RLM + "Order Completed", "Order" + NBSP + "Completed",
    "Order Com" + SHY + "pleted", "Order Completed" + WJ, LRM + " Order Completed " + ZWSP])
def test_a_mapped_event_name_with_invisible_characters_is_the_mapped_event(event):
    ev = track(event, properties={"order_id": "o-1", "total": 10})
    assert (ev.stream, ev.type, ev.attrs["order_id"]) == ("orders", "order_placed", "o-1")


@pytest.mark.parametrize("event, stream, etype", [
    ("Email Bounced" + ZWSP, "engagement", "bounced"),
    (BOM + "Product Viewed", "web", "product_view"),
    ("Signed" + NBSP + "Up", "web", "signup"),
])
def test_every_mapped_kind_is_read_so(event, stream, etype):
    ev = track(event, properties={"product_id": "p-1"})
    assert (ev.stream, ev.type) == (stream, etype)


@pytest.mark.parametrize("event, etype", [
    (ZWSP + "Trial Ending Soon", "Trial Ending Soon"),
    ("Trial" + NBSP + "Ending Soon" + RLM, "Trial Ending Soon"),
    ("Cafe\u0301 Visited", "Caf\u00e9 Visited"),  # decomposed (NFD) é: the composed form a YAML file holds
    ("\u062e\u0631\u06cc\u062f\u200c\u0647\u0627", "\u062e\u0631\u06cc\u062f\u200c\u0647\u0627"),  # Persian ZWNJ kept
    ("Fam\u00edlia \U0001F468\u200d\U0001F469\u200d\U0001F467", "Fam\u00edlia \U0001F468\u200d\U0001F469\u200d\U0001F467"),
])
def test_a_user_named_event_is_its_visible_name(event, etype):
    assert track(event).type == etype
    assert event_name_text(etype) == etype  # the name a configuration file writes is already in this spelling


def test_an_event_name_of_invisible_characters_only_is_no_name():
    dead = parse("track", {"type": "track", "messageId": "m-1", "userId": "u1", "event": ZWSP + " " + BOM,
                           "timestamp": TS})
    assert isinstance(dead, DeadLetter) and dead.reason == "schema_violation" and "event name" in dead.detail


@pytest.mark.parametrize("stream, rec, etype, channel", [
    ("engagement", {"type": "unsubscribed" + ZWSP, "channel": "email"}, "unsubscribed", "email"),
    ("engagement", {"type": "complained", "channel": BOM + "email"}, "complained", "email"),
    ("consent", {"status": ZWSP + "revoked", "channel": "sms"}, "consent_revoked", "sms"),
    ("consent", {"status": "opted" + NBSP + "out", "channel": "email"}, "consent_revoked", "email"),
    ("consent", {"status": "revoked", "channel": "e" + SHY + "mail" + RLM}, "consent_revoked", "email"),
])
def test_a_built_in_opt_out_spelt_with_invisible_characters_is_the_opt_out(stream, rec, etype, channel):
    ev = parse(stream, {"event_id": "e-1", "ts": TS, "email": "ann@example.com", **rec})
    assert isinstance(ev, Event), ev
    assert (ev.type, ev.attrs["channel"]) == (etype, channel)


# ------------------------------------------------------------------------------------------ configuration files
JOURNEY = """version: 1
journeys:
  - id: trial
    category: marketing
    priority: 1
    entry: {event: "%s", stream: track}
    steps:
      - id: mail
        send: {channel: email, content_id: trial}
"""


@pytest.mark.parametrize("name", ["Trial Ending Soon\\u200b", "\\ufeffTrial Ending Soon", "Trial\\u00a0Ending Soon",
                                  "Cafe\\u0301 Visited"])
def test_a_configured_name_that_no_event_can_have_is_refused(name):
    shown = json.loads(f'"{name}"')
    with pytest.raises(JourneyError) as e:
        load_journeys_text(JOURNEY % name, "journeys.yaml")
    assert e.value.errors[0].startswith("journeys.yaml:6: ") and repr(event_name_text(shown)) in e.value.errors[0]
    mapped = EngineConfig.from_files().mapped()
    for text, line in ((f'version: 1\nevents:\n  "{name}":\n    properties: {{days: int}}\n', 3),
                       (f'version: 1\nattributes:\n  n: {{op: count, event: "{name}", stream: track}}\n', 3)):
        with pytest.raises(JourneyError) as e:
            load_attributes_text(text, "attributes.yaml", mapped)
        message = "\n".join(e.value.errors)
        assert message.startswith(f"attributes.yaml:{line}: ") and repr(event_name_text(shown)) in message, message
    with pytest.raises(UserError) as e:
        load_mapping_text(f'version: 1\nevents:\n  "{name}":\n    stream: web\n    type: login\n', "m.yaml")
    assert str(e.value).startswith("m.yaml:3: ") and repr(event_name_text(shown)) in str(e.value), str(e.value)


def test_the_visible_names_load():
    assert load_journeys_text(JOURNEY % "Caf\u00e9 Visited", "journeys.yaml")
    assert load_mapping_text('version: 1\nevents:\n  "Caf\u00e9 Visited":\n    stream: web\n    type: login\n', "m")


def test_a_declared_property_or_trait_spelt_with_invisible_characters_is_the_declared_one(tmp_path):
    from tests.stages.test_qa12c_declared_values import parser_declaring

    p = parser_declaring(tmp_path, "version: 1\nevents:\n  Trial Ending Soon:\n    properties: {days_left: int}\n"
                                   "traits:\n  plan: string\n")
    raw = json.dumps({"type": "track", "messageId": "m-1", "userId": "u1", "event": "Trial Ending Soon",
                      "timestamp": TS, "properties": {"days_left" + ZWSP: 3},
                      "context": {"traits": {BOM + "plan": "pro"}}}).encode()
    res = p.parse_full("track", raw, "t:1")
    assert res.result.attrs["properties"] == {"days_left": 3} and res.result.attrs["traits"] == {"plan": "pro"}
    assert sorted((w.field, w.reason, w.action) for w in res.warnings) == [
        ("properties.days_left\u200b", "unknown_value", "replaced"), ("traits.\ufeffplan", "unknown_value", "replaced")]
