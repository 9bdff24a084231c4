"""qa10d: an address written in a Unicode compatibility form is the address (NFKC, RFC 8265's width mapping).

An IME types a full-width local part (``ａｎｎ．ｌｅｅ@example.com``), a PDF copy gives a ligature (``ﬁnance@``), a
form gives sub/superscript digits in a phone (``+₁ 415 ...``).  Before, the local part was only NFC-normalized: such
a spelling was a second identifier, an opt-out in it did not block the address written in ASCII, and identity did
not link them.  Now emails (local part) and phones are NFKC-normalized before they are checked and hashed, in every
stream (the built-in parser and the Segment parser share ``keys.Hasher``)."""
from __future__ import annotations

import json
import unicodedata

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

HASHER = Hasher(b"test-key")
PARSER = Parser(HASHER)
CONFIG = EngineConfig.from_files()

EMAILS = [  # (as written in the opt-out, the address the customer holds)
    ("ａｎｎ．ｌｅｅ@example.com", "ann.lee@example.com"),  # full-width local part (an East Asian input method)
    ("ＡＮＮ．ＬＥＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "ann.lee@example.com"),  # all of it full-width, upper case
    ("ﬁnance@example.com", "finance@example.com"),  # a ligature (copied from a PDF)
    ("Ｊｏｓ" + unicodedata.normalize("NFD", "é") + "@example.com", "josé@example.com"),  # width + decomposed accent
]
PHONES = [("+₁ 415 555 0134", "+1 415 555 0134"), ("＋１ （４１５） ５５５－０１３４", "+14155550134"),
          ("+1 𝟒𝟏𝟓 𝟓𝟓𝟓 𝟎𝟏𝟑𝟒", "+14155550134")]


@pytest.mark.parametrize("written,plain", EMAILS)
def test_an_email_in_a_compatibility_form_is_the_address(written, plain):
    assert HASHER.email(written) == HASHER.email(plain)


@pytest.mark.parametrize("written,plain", PHONES)
def test_a_phone_in_a_compatibility_form_is_the_number(written, plain):
    assert HASHER.phone(written) == HASHER.phone(plain)


def sends(records: list[tuple[str, dict]], channel: str) -> list[str]:
    events = [PARSER.parse(stream, json.dumps(r, ensure_ascii=False).encode()) for stream, r in records]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 86_400_000):
        out += [d.customer_id for d in o.decisions if d.action == "send" and d.channel == channel
                and d.journey_id == "browse_offer"]  # (the views' offer: days after the opt-out)
    return out


def views(crm: str) -> list[tuple[str, dict]]:
    return [("web", {"event_id": f"v{i}", "ts": f"2026-10-05T12:0{i}:00Z", "type": "product_view",
                     "anonymous_id": "d", "user_id": crm, "product_id": "P1"}) for i in range(3)]


def contact(kind: str, value: str) -> list[tuple[str, dict]]:
    return [("crm", {"event_id": "c1", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     kind: value, "timezone": "UTC"}),
            ("consent", {"event_id": "g1", "ts": "2026-09-01T00:00:01Z", "crm_id": "A",
                         "channel": "email" if kind == "email" else "sms", "status": "granted"})]


OPT_OUTS = {  # an opt-out naming the address only (no customer id): it reaches the holder through the address
    "consent revoke": lambda kind, v: ("consent", {"event_id": "r1", "ts": "2026-10-01T00:00:00Z", kind: v,
                                                   "channel": "email" if kind == "email" else "sms",
                                                   "status": "revoked"}),
    "unsubscribe": lambda kind, v: ("engagement", {"event_id": "r1", "ts": "2026-10-01T00:00:00Z", kind: v,
                                                   "channel": "email" if kind == "email" else "sms",
                                                   "type": "unsubscribed"}),
    "Segment Unsubscribed": lambda kind, v: ("track", {"type": "track", "event": "Unsubscribed", "messageId": "m1",
                                                       "anonymousId": "esp-1", "timestamp": "2026-10-01T00:00:00Z",
                                                       "context": {"traits": {kind: v}},
                                                       "properties": {"channel": "email" if kind == "email"
                                                                      else "sms"}}),
}


@pytest.mark.parametrize("optout", sorted(OPT_OUTS))
@pytest.mark.parametrize("written,plain", EMAILS)
def test_an_email_opt_out_in_a_compatibility_form_blocks_the_address(optout, written, plain):
    base = contact("email", plain) + views("A")
    assert sends(base, "email"), "the scenario sends an email without the opt-out"
    assert sends(base + [OPT_OUTS[optout]("email", written)], "email") == []
