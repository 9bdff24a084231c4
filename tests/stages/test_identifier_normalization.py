"""Every spelling of one address or number is one key; different addresses stay different (stages/identity/keys.py's docstring
lists what is merged and what is not)."""
from __future__ import annotations

import json
import pickle
import unicodedata

import pytest

from journeyflow.stages.identity.keys import Hasher, InvalidIdentifier, normalize_email
from journeyflow.model.events import Event
from journeyflow.stages.parse import ParseConfig, Parser

H = Hasher(b"norm-test-key")


def key(raw: str, hasher: Hasher = H) -> str:
    return hasher.email(raw)[0]


@pytest.mark.parametrize("spellings", [
    ["ann.lee@example.com", "Ann.Lee@Example.COM", "  ANN.LEE@EXAMPLE.COM\t", "ann.lee@EXAMPLE.com"],
    ["ann@münchen.de", "ann@xn--mnchen-3ya.de", "ANN@MÜNCHEN.DE", "Ann@XN--MNCHEN-3YA.DE",
     unicodedata.normalize("NFD", "ann@münchen.de")],
    ["jörg@example.com", "JÖRG@example.com", unicodedata.normalize("NFD", "Jörg@Example.com")],
    ["ann@example.com", "ann@ｅｘａｍｐｌｅ.com"],  # full-width domain: folded by IDNA's UTS #46 mapping
    ["ann@example.com", "ａｎｎ@example.com"],  # full-width local part: NFKC (RFC 8265 width mapping), qa10d
])
def test_spellings_of_one_address_are_one_key(spellings):
    keys = {key(s) for s in spellings}
    assert len(keys) == 1, spellings
    normalized = {H.email(s)[1] for s in spellings}
    assert len(normalized) == 1
    (addr,) = normalized
    assert addr == addr.strip() and addr.split("@")[1].isascii()  # delivered to the ASCII (A-label) domain


@pytest.mark.parametrize("a,b", [
    ("ann+news@example.com", "ann@example.com"),  # plus-addressing: distinct unless configured
    ("ann.lee@gmail.com", "annlee@gmail.com"),  # no provider-specific dot rules
    ("ann@example.com", "ann@example.co"),
])
def test_different_addresses_stay_different(a, b):
    assert key(a) != key(b)


def test_plus_addresses_merge_only_when_configured():
    merging = Hasher(b"norm-test-key", merge_plus_addresses=True)
    assert key("ann+news@example.com", merging) == key("Ann@Example.com", merging) == key("ann@example.com")
    assert key("ann+a+b@example.com", merging) == key("ann@example.com")
    assert key("+tag@example.com", merging) != key("tag@example.com", merging)  # nothing before the +: kept
    assert merging.email("Ann+News@Example.com")[1] == "ann@example.com"
    assert normalize_email("ann+news@example.com") == "ann+news@example.com"
    clone = pickle.loads(pickle.dumps(merging))
    assert clone.merge_plus_addresses and key("ann+x@example.com", clone) == key("ann@example.com")
    p = Parser(merging, ParseConfig(merge_plus_addresses=True))
    rec = {"event_id": "o", "ts": 1790848800000, "email": "ann+shop@example.com", "order_id": "O",
           "type": "order_placed"}
    assert p.parse("orders", json.dumps(rec)).ids == (key("ann@example.com"),)


def test_ascii_addresses_hash_as_before():
    # keys of existing data do not change: for ASCII addresses the hashed text is the trimmed, lower-cased address
    assert key(" Ann.Lee@Example.COM ") == "email:" + H.digest("email", "ann.lee@example.com")


@pytest.mark.parametrize("bad", [
    "not-an-email", "jane.doe@", "@example.com", "john doe@example", "n/a", "a..b@example.com", ".a@example.com",
    "a@example.test", "a@localhost", "a@foo.local", '"quoted"@example.com', "a@[1.2.3.4]", "a@b", "a@-b.com",
    "a" * 250 + "@example.com", "\ud800@example.com", "",
])
def test_invalid_addresses_raise_without_the_value(bad):
    with pytest.raises(InvalidIdentifier) as e:
        H.email(bad)
    assert e.value.kind == "email"
    local = bad.split("@")[0]
    if len(bad) > 3:
        assert bad not in str(e.value)
    if len(local) > 3:
        assert local not in str(e.value)


@pytest.mark.parametrize("region,spellings", [
    ("US", ["(415) 555-0134", "415-555-0134", "+1 415 555 0134", "+14155550134", "tel:+1-415-555-0134",
            "1 (415) 555-0134", "４１５ ５５５ ０１３４", "(415) 555-0134 ext. 12"]),
    ("GB", ["020 7946 0958", "+44 20 7946 0958", "0044 20 7946 0958", "+44 (0)20 7946 0958"]),
])
def test_national_and_international_spellings_of_one_number_are_one_key(region, spellings):
    keys = {H.phone(s, region)[0] for s in spellings}
    assert len(keys) == 1, spellings


def test_a_national_number_under_the_wrong_region_is_rejected_not_guessed():
    with pytest.raises(InvalidIdentifier):
        H.phone("020 7946 0958", "US")
    assert H.phone("+44 20 7946 0958", "US") == H.phone("020 7946 0958", "GB")


def test_parser_merges_spellings_across_streams():
    p = Parser(H)
    crm = p.parse("crm", json.dumps({"event_id": "c", "ts": 1790848800000, "crm_id": "C1", "type": "contact_created",
                                     "email": "ANN@MÜNCHEN.DE"}))
    order = p.parse("orders", json.dumps({"event_id": "o", "ts": 1790848800000, "email": "ann@xn--mnchen-3ya.de",
                                          "order_id": "O", "type": "order_placed"}))
    assert isinstance(crm, Event) and isinstance(order, Event)
    assert set(order.ids) <= set(crm.ids)
    assert crm.contact["email"] == order.contact["email"] == "ann@xn--mnchen-3ya.de"


@pytest.mark.parametrize("spelling", ["C-7\u200b", "\ufeffC-7", "C\u200d-7", " C-7\u2060 "])
def test_crm_and_device_ids_with_invisible_characters_are_one_customer(spelling):
    """A CRM id or device id pasted with a zero-width space, joiner, word joiner or byte order mark is the same id
    (``keys.without_format_chars``): else the customer splits in two and an opt-out of one half misses the other."""
    p = Parser(H)
    crm = p.parse("crm", json.dumps({"event_id": "c", "ts": 1790848800000, "crm_id": spelling,
                                     "type": "contact_created"}))
    web = p.parse("web", json.dumps({"event_id": "w", "ts": 1790848800000, "anonymous_id": "dev\u200b-1",
                                     "user_id": "C-7", "type": "login"}))
    assert isinstance(crm, Event) and isinstance(web, Event)
    assert crm.ids == ("crm:C-7",) and set(web.ids) == {"crm:C-7", "anon:dev-1"}


def test_an_id_of_invisible_characters_only_is_empty():
    from journeyflow.stages.identity.keys import anon_key, crm_key
    for make in (crm_key, anon_key):
        with pytest.raises(InvalidIdentifier, match="id is empty"):
            make("\u200b\ufeff ")
