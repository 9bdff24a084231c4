"""Identity core: normalization/hashing, linking rules, union-find with guards, scoring."""

from __future__ import annotations

import logging
import pickle
import random
import re
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from journeyflow.stages.identity import keys as identity
from journeyflow.stages.identity import secret
from journeyflow.stages.identity.keys import (
    DEFAULT_HASH_KEY,
    HASH_KEY_ENV,
    Hasher,
    InvalidIdentifier,
    anon_key,
    canonical,
    crm_key,
    rank_key,
)
from journeyflow.stages.identity.graph import IdentityGraph, LinkOutcome, resolve
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, links_for
from journeyflow.stages.identity.score import score_clusters

KEY_RE = re.compile(r"^(email|phone):[0-9a-f]{32}$")
BIG = 10**9
NO_GUARDS = LinkRules(max_cluster_size=BIG, max_per_kind={"crm": BIG, "email": BIG, "phone": BIG, "anon": BIG},
                      bridge_guard=False)


@pytest.fixture
def hasher() -> Hasher:
    return Hasher(b"test-key")


# -- normalization and hashing ----------------------------------------------------------------------------------


def test_email_variants_share_a_key(hasher: Hasher) -> None:
    variants = ["Jane.Doe@Example.com", "  jane.doe@example.COM\t", "JANE.DOE@EXAMPLE.COM"]
    results = {hasher.email(v) for v in variants}
    assert len(results) == 1
    key, normalized = results.pop()
    assert normalized == "jane.doe@example.com"
    assert KEY_RE.match(key)


def test_email_no_provider_specific_rules(hasher: Hasher) -> None:
    base = hasher.email("jane.doe@gmail.com")[0]
    assert hasher.email("janedoe@gmail.com")[0] != base  # no dot removal
    assert hasher.email("jane.doe+news@gmail.com")[0] != base  # no +tag stripping


@pytest.mark.parametrize(
    "raw",
    ["(415) 555-2671", "415-555-2671", "4155552671", "+1 415 555 2671", "1 (415) 555-2671", "+14155552671"],
)
def test_us_phone_national_and_international_share_a_key(hasher: Hasher, raw: str) -> None:
    assert hasher.phone(raw) == hasher.phone("+1 (415) 555-2671")
    key, e164 = hasher.phone(raw)
    assert e164 == "+14155552671"
    assert KEY_RE.match(key)


def test_phone_region(hasher: Hasher) -> None:
    assert hasher.phone("020 7946 0018", region="GB") == hasher.phone("+44 20 7946 0018")
    assert Hasher(b"test-key", default_region="GB").phone("020 7946 0018")[1] == "+442079460018"


@pytest.mark.parametrize(
    "raw",
    ["jane.doe", "jane@doe", "jane doe@example.com", "@example.com", "a@@example.com", "a@b@example.com",
     "jane@.example.com", "jane@example..com", "jane@example.com..", "   ", ""],
)
def test_invalid_email_raises_without_the_value(hasher: Hasher, raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        hasher.email(raw)
    err = info.value
    assert err.kind == "email"
    assert isinstance(err, ValueError)
    if raw.strip():
        assert raw.strip() not in str(err) and raw.strip() not in repr(err)
        for part in filter(None, re.split(r"[@.\s]", raw)):
            if len(part) > 3:
                assert part not in str(err)
    assert pickle.loads(pickle.dumps(err)).kind == "email"


@pytest.mark.parametrize("raw", ["555-0100", "12", "not a phone", "+1 555 000 0000", "+999 1234", "", "   "])
def test_invalid_phone_raises_without_the_value(hasher: Hasher, raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        hasher.phone(raw)
    assert info.value.kind == "phone"
    digits = re.sub(r"\D", "", raw)
    if digits:
        assert digits not in str(info.value)
    if raw.strip():
        assert raw.strip() not in str(info.value)


def test_non_string_inputs(hasher: Hasher) -> None:
    with pytest.raises(InvalidIdentifier):
        hasher.email(None)
    with pytest.raises(InvalidIdentifier):
        hasher.email(42)
    assert hasher.phone(4155552671) == hasher.phone("415 555 2671")
    with pytest.raises(InvalidIdentifier):
        hasher.phone(None)


def test_different_hmac_keys_give_different_hashes() -> None:
    one, two = Hasher(b"key-one"), Hasher(b"key-two")
    assert one.email("a@example.com")[0] != two.email("a@example.com")[0]
    assert one.phone("415 555 2671")[0] != two.phone("415 555 2671")[0]
    # Same key, same hash (deterministic across instances), and email/phone namespaces never collide.
    assert Hasher(b"key-one").email("a@example.com") == one.email("a@example.com")


def test_raw_value_never_appears_in_key(hasher: Hasher) -> None:
    key, normalized = hasher.email("Someone.Special@Example.org")
    for fragment in ("someone", "special", "example", normalized):
        assert fragment not in key.lower()
    key, e164 = hasher.phone("415 555 2671")
    for fragment in ("4155552671", "5552671", e164):
        assert fragment not in key
    assert "test-key" not in repr(hasher)


def test_hasher_pickles_and_caches(hasher: Hasher) -> None:
    for _ in range(3):
        hasher.email("a@example.com")
    assert hasher.cache_info()["email"].hits == 2
    clone = pickle.loads(pickle.dumps(hasher))
    assert clone.email("a@example.com") == hasher.email("a@example.com")
    assert clone.cache_info()["email"].hits == 0


def test_hasher_from_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, "s3cret-value")
    assert Hasher.from_env().email("a@example.com") == Hasher(b"s3cret-value").email("a@example.com")

    monkeypatch.delenv(HASH_KEY_ENV)
    monkeypatch.setattr(secret, "_warned", False)
    with caplog.at_level(logging.WARNING, logger=secret.__name__):
        first = Hasher.from_env()
        Hasher.from_env()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert DEFAULT_HASH_KEY.decode() not in caplog.text
    assert first.email("a@example.com") == Hasher(DEFAULT_HASH_KEY).email("a@example.com")


def test_crm_and_anon_keys() -> None:
    assert crm_key("  C-42 ") == "crm:C-42"
    assert anon_key(" 3f1c ") == "anon:3f1c"
    assert crm_key(42) == "crm:42"
    for fn in (crm_key, anon_key):
        with pytest.raises(InvalidIdentifier):
            fn("  ")
        with pytest.raises(InvalidIdentifier):
            fn(None)


def test_rank_and_canonical() -> None:
    keys = ["anon:a", "phone:" + "0" * 32, "email:" + "f" * 32, "email:" + "1" * 32, "crm:zzz"]
    assert canonical(keys) == "crm:zzz"
    assert canonical(keys[:4]) == "email:" + "1" * 32
    assert sorted(keys, key=rank_key)[-1] == "anon:a"
    with pytest.raises(ValueError):
        rank_key("ssn:123")


# -- linking rules ----------------------------------------------------------------------------------------------


def test_links_for_defaults() -> None:
    keys = ["anon:dev1", "crm:7", "email:" + "a" * 32, "phone:" + "b" * 32]
    email, phone = keys[2], keys[3]
    assert links_for("web", "login", keys) == [("crm:7", email), ("crm:7", "anon:dev1")]  # phone not linked on web
    assert links_for("web", "signup", ["anon:dev1", email]) == [(email, "anon:dev1")]
    assert links_for("web", "page_view", keys) == []
    assert links_for("crm", "profile_updated", keys) == [("crm:7", email), ("crm:7", phone)]
    assert links_for("orders", "order_placed", keys) == [("crm:7", email)]
    assert links_for("support", "ticket_opened", keys) == [("crm:7", email), ("crm:7", phone)]
    assert links_for("engagement", "email_open", keys) == []
    assert links_for("consent", "opt_in", keys) == []
    assert links_for("unknown_stream", "x", keys) == []
    assert links_for("crm", "x", ["crm:7", "crm:7"]) == []
    assert links_for("crm", "x", ["crm:7"]) == []


def test_link_rules_yaml(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "streams:\n  web:\n    event_types: [login]\n    kinds: [anon, crm]\n"
        "  crm:\n    event_types: '*'\nmax_cluster_size: 12\nmax_per_kind:\n  email: 5\n"
    )
    rules = LinkRules.from_yaml(path)
    assert rules.max_cluster_size == 12
    assert rules.max_per_kind.as_tuple() == (1, 5, 3, 10)  # omitted kinds keep their defaults
    assert set(rules.streams) == {"web", "crm"}
    assert links_for("web", "login", ["anon:x", "crm:1", "email:" + "a" * 32], rules) == [("crm:1", "anon:x")]
    assert links_for("web", "signup", ["anon:x", "crm:1"], rules) == []
    assert links_for("orders", "order_placed", ["crm:1", "email:" + "a" * 32], rules) == []

    path.write_text("max_cluster_sise: 12\n")  # typo -> error, not a silent default
    with pytest.raises(ValidationError):
        LinkRules.from_yaml(path)
    path.write_text("max_per_kind:\n  ssn: 1\n")
    with pytest.raises(ValidationError):
        LinkRules.from_yaml(path)
    path.write_text("streams:\n  web:\n    kinds: [ssn]\n")
    with pytest.raises(ValidationError):
        LinkRules.from_yaml(path)
    path.write_text("")
    assert LinkRules.from_yaml(path) == LinkRules()


# -- union-find ---------------------------------------------------------------------------------------------------

UNIVERSE = [f"crm:c{i}" for i in range(4)] + [f"email:{i:032x}" for i in range(5)] + [
    f"phone:{i + 100:032x}" for i in range(4)
] + [f"anon:a{i}" for i in range(7)]


def _components(links: list[tuple[str, str]]) -> dict[str, str]:
    """Reference connected components (BFS), key -> canonical key."""
    adj: dict[str, set[str]] = {}
    for a, b in links:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    out: dict[str, str] = {}
    for start in adj:
        if start in out:
            continue
        comp, stack = {start}, [start]
        while stack:
            for nxt in adj[stack.pop()]:
                if nxt not in comp:
                    comp.add(nxt)
                    stack.append(nxt)
        root = canonical(comp)
        out.update(dict.fromkeys(comp, root))
    return out


link_sets = st.lists(st.tuples(st.sampled_from(UNIVERSE), st.sampled_from(UNIVERSE)), min_size=0, max_size=40)


@settings(max_examples=150, deadline=None)
@given(links=link_sets, seed=st.integers(0, 2**32 - 1))
def test_canonical_root_is_independent_of_link_order(links: list[tuple[str, str]], seed: int) -> None:
    expected = _components(links)
    rng = random.Random(seed)
    results = []
    for _ in range(3):
        shuffled = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in links]
        rng.shuffle(shuffled)
        graph = IdentityGraph(NO_GUARDS)
        for a, b in shuffled:
            assert graph.link(a, b).accepted
        results.append(graph.clusters())
        assert {k: graph.find(k) for k in expected} == expected
    assert results[0] == results[1] == results[2]
    for root, members in results[0].items():
        assert root == canonical(members) == members[0]


@settings(max_examples=100, deadline=None)
@given(links=link_sets, seed=st.integers(0, 2**32 - 1))
def test_resolve_is_a_function_of_the_link_set_even_with_guards(links: list[tuple[str, str]], seed: int) -> None:
    records = [LinkRecord(a, b, ts=i % 5, event_id=f"e{i}") for i, (a, b) in enumerate(links)]
    rules = LinkRules(max_cluster_size=5, max_per_kind={"email": 2, "phone": 2, "anon": 3})
    first = resolve(records, rules)
    shuffled = records[:]
    random.Random(seed).shuffle(shuffled)
    second = resolve(shuffled, rules)
    assert first.graph.clusters() == second.graph.clusters()
    assert first.refused == second.refused
    guard = rules.guard()
    for members in first.graph.clusters().values():
        counts = [sum(1 for m in members if m.startswith(k + ":")) for k in identity.KINDS]
        assert all(n <= cap for n, cap in zip(counts, guard.caps))
        assert len(members) <= rules.max_cluster_size


def test_shared_anonymous_id_does_not_merge_people() -> None:
    # A family tablet: one anonymous id seen logging in as 30 different customers.
    records = [LinkRecord(f"crm:p{i:02d}", "anon:tablet", ts=1000 + i, event_id=f"login-{i}", stream="web")
               for i in range(30)]
    result = resolve(reversed(records))
    graph = result.graph
    assert result.accepted == [records[0]]  # earliest login wins the anonymous id
    assert len(result.refused) == 29
    assert {r.reason for r in result.refused} == {"kind_cap:crm"}
    assert [r.link for r in result.refused] == records[1:]
    assert graph.find("anon:tablet") == "crm:p00"
    roots = {graph.find(f"crm:p{i:02d}") for i in range(30)}
    assert len(roots) == 30  # nobody merged with anybody else
    assert graph.members("crm:p00") == ["crm:p00", "anon:tablet"]


def test_cluster_size_and_kind_caps() -> None:
    graph = IdentityGraph(LinkRules(max_cluster_size=4))
    hub = "email:" + "0" * 32
    outcomes = [graph.link(hub, f"anon:a{i}") for i in range(5)]
    assert [o.accepted for o in outcomes] == [True, True, True, False, False]
    assert outcomes[3] == LinkOutcome(False, "cluster_size_cap", hub, None)
    assert graph.counts(hub) == (0, 1, 0, 3)

    graph = IdentityGraph()
    emails = [f"email:{i:032x}" for i in range(5)]
    results = [graph.link("crm:x", e) for e in emails]
    assert [r.reason for r in results] == [None, None, None, "kind_cap:email", "kind_cap:email"]
    # Merging two clusters is checked on their combined counts.
    graph.link("crm:y", "phone:" + "1" * 32)
    assert graph.link("email:" + "0" * 32, "phone:" + "1" * 32).reason == "kind_cap:crm"


def test_link_outcome_and_idempotence() -> None:
    graph = IdentityGraph()
    email = "email:" + "e" * 32
    first = graph.link("anon:a", email, ts=1, event_id="x")
    assert first == LinkOutcome(True, None, email, ("anon:a", email))
    again = graph.link("anon:a", email, ts=2, event_id="y")
    assert again == LinkOutcome(True, None, email, None)
    assert graph.link(email, "anon:a") == LinkOutcome(True, None, email, None)
    merge = graph.link("anon:a", "crm:1")
    assert merge == LinkOutcome(True, None, "crm:1", (email, "crm:1"))
    assert graph.find("anon:a") == graph.find(email) == "crm:1"
    assert graph.members(email) == ["crm:1", email, "anon:a"]
    assert graph.clusters() == {"crm:1": ["crm:1", email, "anon:a"]}


def test_graph_unknown_keys_and_singletons() -> None:
    graph = IdentityGraph()
    assert graph.find("anon:never") == "anon:never"
    assert graph.members("anon:never") == ["anon:never"]
    graph.add("anon:solo")
    graph.add("anon:solo")
    assert graph.clusters() == {"anon:solo": ["anon:solo"]}
    assert "anon:solo" in graph and len(graph) == 1
    with pytest.raises(ValueError):
        graph.link("anon:solo", "ssn:1")


def test_graph_handles_long_chains() -> None:
    graph = IdentityGraph(NO_GUARDS)
    n = 20_000
    for i in range(n - 1, 0, -1):
        graph.link(f"anon:{i:05d}", f"anon:{i - 1:05d}")
    assert graph.find(f"anon:{n - 1:05d}") == "anon:00000"
    assert len(graph.members("anon:12345")) == n


# -- scoring --------------------------------------------------------------------------------------------------


def test_score_hand_made_example() -> None:
    truth = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P2", "f": "P3", "g": "P3"}
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Z", "extra": "Z"}  # g missing
    score = score_clusters(predicted, truth)
    # true pairs: ab ac bc de fg = 5; predicted pairs (within truth keys): ab cd ce de = 4; tp: ab de = 2
    assert (score.pairs_tp, score.pairs_fp, score.pairs_fn) == (2, 2, 3)
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(0.4)
    assert score.f1 == pytest.approx(2 * 0.5 * 0.4 / 0.9)


def test_score_edge_cases() -> None:
    truth = {"a": 1, "b": 1, "c": 2}
    assert score_clusters({"a": 9, "b": 9, "c": 8}, truth)[:2] == (1.0, 1.0)
    assert score_clusters({}, {}) == (1.0, 1.0, 0, 0, 0)
    everything = score_clusters(dict.fromkeys(truth, 0), truth)
    assert (everything.precision, everything.recall) == (pytest.approx(1 / 3), 1.0)


@settings(max_examples=100, deadline=None)
@given(
    assignment=st.dictionaries(
        st.integers(0, 30), st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=25
    )
)
def test_score_matches_brute_force(assignment: dict[int, tuple[int, int]]) -> None:
    predicted = {k: p for k, (p, _) in assignment.items()}
    truth = {k: t for k, (_, t) in assignment.items()}
    pairs = list(combinations(assignment, 2))
    tp = sum(1 for x, y in pairs if predicted[x] == predicted[y] and truth[x] == truth[y])
    fp = sum(1 for x, y in pairs if predicted[x] == predicted[y] and truth[x] != truth[y])
    fn = sum(1 for x, y in pairs if predicted[x] != predicted[y] and truth[x] == truth[y])
    score = score_clusters(predicted, truth)
    assert (score.pairs_tp, score.pairs_fp, score.pairs_fn) == (tp, fp, fn)
