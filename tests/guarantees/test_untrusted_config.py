"""Journey, policy and link-rule files are untrusted input (they come from people who are not developers, and on
Dataflow from a bucket): oversized files, YAML alias bombs, deep nesting, Python object tags and hostile CEL
conditions must give a clear error, execute nothing, and stay cheap.  "Cheap" is asserted by behaviour, not by
timing: the error names the limit that stopped the work (an alias bomb is refused before it is expanded, a deep
document before it is built, a long condition before it is parsed).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from journeyflow.config.engine import MAX_CONFIG_BYTES, EngineConfig, default_text
from journeyflow.stages.conditions import MAX_DEPTH, MAX_LENGTH, MAX_NESTING, JourneyError, compile_condition
from journeyflow.stages.journeys import MAX_CONDITION_CHARS, MAX_FILE_BYTES, load_journeys, load_journeys_text
from journeyflow.stages.arbitration import MAX_POLICY_BYTES, Arbiter, Policy, PolicyError, load_policy
from journeyflow.config.yaml import MAX_YAML_DEPTH

JOURNEY = """\
journeys:
  - id: j
    category: sales
    priority: 10
    entry: {{event: add_to_cart, when: {when}}}
    steps:
      - id: mail
        send: {{channel: email, content_id: c1}}
"""


def journeys_error(text: str) -> str:
    with pytest.raises(JourneyError) as ei:
        load_journeys_text(text, "j.yaml")
    return str(ei.value)


def policy_error(text: str) -> str:
    with pytest.raises(PolicyError) as ei:
        Policy.from_yaml_text(text, "p.yaml")
    return str(ei.value)


def link_rules_error(text: str) -> str:
    cfg = EngineConfig(default_text("journeys.yaml"), "j", default_text("policy.yaml"), "p", text, "links.yaml")
    with pytest.raises(ValueError) as ei:
        cfg.link_rules()
    return str(ei.value)


LOADERS = {"journeys": journeys_error, "policy": policy_error, "link_rules": link_rules_error}


def billion_laughs(last_key: str) -> str:
    """Nine levels of nine aliases: 9**9 (387 million) strings once expanded, 600 bytes as text."""
    lines = ["x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"x-{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\n{last_key}: *l8\n"


def test_the_limits_are_the_documented_ones():
    assert MAX_FILE_BYTES == MAX_POLICY_BYTES == MAX_CONFIG_BYTES == 1 << 20
    assert MAX_YAML_DEPTH == 40
    assert (MAX_LENGTH, MAX_NESTING, MAX_DEPTH, MAX_CONDITION_CHARS) == (1000, 12, 200, 200_000)


# ----------------------------------------------------------------------------------------- size
@pytest.mark.parametrize("kind", ["journeys", "policy"])
def test_oversized_text_is_refused_before_parsing(kind):
    big = "# " + "x" * (1 << 20) + "\n"
    message = LOADERS[kind](big)
    assert "larger than the 1 MiB limit" in message or "larger than the 1048576 byte limit" in message
    assert str(len(big)) in message


def test_oversized_files_are_refused_by_size_before_being_read(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    for kw in ("journeys", "policy", "link_rules"):
        with pytest.raises(ValueError, match=f"larger than the {MAX_CONFIG_BYTES} byte limit"):
            EngineConfig.from_files(**{kw: str(big)})
    with pytest.raises(JourneyError, match="larger than the 1 MiB limit"):
        load_journeys(big)
    with pytest.raises(PolicyError, match="larger than the 1048576 byte limit"):
        load_policy(big)


def test_multibyte_text_is_measured_in_bytes():
    text = "# " + "é" * ((1 << 19) + 10) + "\n"  # fewer than 1 Mi characters, more than 1 MiB of UTF-8
    assert len(text) < 1 << 20 < len(text.encode())
    assert "1 MiB limit" in journeys_error(text)
    assert "byte limit" in policy_error(text)


# ----------------------------------------------------------------------------------------- YAML
@pytest.mark.parametrize("kind,key", [("journeys", "journeys"), ("policy", "frequency_caps"),
                                      ("policy", "default_timezone"), ("link_rules", "max_cluster_size"),
                                      ("link_rules", "max_per_kind")])
def test_alias_bombs_are_refused_before_expansion(kind, key):
    assert "YAML anchors/aliases are not allowed" in LOADERS[kind](billion_laughs(key))


@pytest.mark.parametrize("kind", LOADERS)
def test_a_self_referencing_alias_is_refused(kind):
    key = {"journeys": "journeys", "policy": "frequency_caps", "link_rules": "max_per_kind"}[kind]
    assert "YAML anchors/aliases are not allowed" in LOADERS[kind](f"{key}: &r [*r]\n")


@pytest.mark.parametrize("kind", LOADERS)
@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 5, 5_000])
@pytest.mark.parametrize("style", ["flow_list", "flow_map", "block"])
def test_deep_nesting_is_refused_at_the_limit(kind, depth, style):
    key = {"journeys": "journeys", "policy": "quiet_hours", "link_rules": "max_per_kind"}[kind]
    if style == "flow_list":
        body = "[" * depth + "]" * depth
    elif style == "flow_map":
        body = "{a: " * depth + "1" + "}" * depth
    else:  # block style: indentation grows with depth, so the size limit stops it first beyond ~1000 levels
        depth = min(depth, 900)
        body = "\n" + "".join(" " * (i + 1) + "- \n" for i in range(depth)) + " " * (depth + 1) + "x\n"
    message = LOADERS[kind](f"{key}: {body}\n")
    # journey files: the composer's own recursion guard may fire first ("nested too deeply"); both are errors
    assert (f"nested more than {MAX_YAML_DEPTH} levels deep" in message
            or (kind == "journeys" and "nested too deeply" in message)), message


@pytest.mark.parametrize("kind", LOADERS)
def test_nesting_just_past_the_limit_names_it(kind):
    key = {"journeys": "journeys", "policy": "quiet_hours", "link_rules": "max_per_kind"}[kind]
    message = LOADERS[kind](f"{key}: " + "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1) + "\n")
    assert f"nested more than {MAX_YAML_DEPTH} levels deep" in message


PYTHON_TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.check_output [['touch', '{marker}']]",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/object:__main__.Evil {{x: 1}}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!python/object/apply:os.system ['touch {marker}']",
]


@pytest.mark.parametrize("kind", LOADERS)
@pytest.mark.parametrize("tag", PYTHON_TAGS)
def test_python_tags_are_refused_and_run_nothing(kind, tag, tmp_path):
    marker = tmp_path / "pwned"
    key = {"journeys": "journeys", "policy": "default_timezone", "link_rules": "max_cluster_size"}[kind]
    message = LOADERS[kind](f"{key}: {tag.format(marker=marker)}\n")
    assert "could not determine a constructor for the tag" in message or "is not a valid" in message \
        or "Input should be" in message, message
    assert not marker.exists()


def test_python_tags_inside_a_journey_step_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    text = JOURNEY.format(when=f"!!python/object/apply:os.system ['touch {marker}']")
    assert "could not determine a constructor" in journeys_error(text)
    assert not marker.exists()


def test_odd_documents_are_accepted_or_refused_cleanly():
    loaders = [(lambda t: load_journeys_text(t, "j.yaml"), JourneyError), (Policy.from_yaml_text, PolicyError),
               (lambda t: EngineConfig(default_text("journeys.yaml"), "j", default_text("policy.yaml"), "p", t,
                                       "links.yaml").link_rules(), ValueError)]
    for text in ("version: !!binary aGVsbG8=\n", "version: !!timestamp 2001-12-14\n", "version: .nan\n",
                 "version: 1e999\n", "\x00\x01\x02\n", "\ufeffversion: 1\n", "version: 1\n---\nversion: 2\n",
                 "? [a, b]\n: c\n", "{1: 2, [3]: 4}\n", "'unterminated\n", "- - - -\n", "~\n", "", "\t\n"):
        for load, error in loaders:
            try:
                load(text)
            except error:
                pass


def test_policy_scorer_cannot_name_arbitrary_code(tmp_path):
    marker = tmp_path / "pwned"
    for spec in ("os:system", "subprocess:Popen", "builtins:eval", "journeyflow_scoring_evil:X",
                 "journeyflow.stages.arbitration:importlib"):
        policy = Policy.from_yaml_text(f"scoring: {{scorer: '{spec}', options: {{command: 'touch {marker}'}}}}\n")
        with pytest.raises(PolicyError, match="scoring.scorer"):
            Arbiter(policy)
    assert "scorer is 'package.module:ClassName'" in policy_error("scoring: {scorer: \"__import__('os')\"}\n")
    assert not marker.exists()


# ----------------------------------------------------------------------------------------- CEL conditions
CODE_EXECUTION = [
    ("__import__('os').system('touch {marker}')", "unknown method 'system'"),
    ("exec(\"open('{marker}', 'w')\")", "unknown function 'exec'"),
    ("eval('1')", "unknown function 'eval'"),
    ("open('{marker}', 'w') != null", "unknown function 'open'"),
    ("os.system('touch {marker}') == 0", "unknown method 'system'"),
    ("os == null", "unknown variable 'os'"),
    ("event.__class__.__base__.__subclasses__().size() > 0", "starting with '_' are not allowed"),
    ("event._private == 1", "starting with '_' are not allowed"),
    ("customer.consent.__getitem__('email')", "starting with '_' are not allowed"),
    ("{{7*7}} == 49", "invalid CEL"),
    ("lambda: 1", "invalid CEL"),
    ("event.type == 'x'; import os", "invalid CEL"),
    ("google.protobuf.Any{type_url: 'x'} != null", "not supported"),
    (".event.type == 'x'", "not supported"),
    ("event.type.format(['x']) == ''", "unknown method 'format'"),
    ("[1].map(x, x.system()) == []", "unknown method 'system'"),
]


@pytest.mark.parametrize("condition,problem", CODE_EXECUTION)
def test_code_execution_attempts_in_conditions_are_refused(condition, problem, tmp_path):
    marker = tmp_path / "pwned"
    when = condition.replace("{marker}", str(marker)).replace('"', '\\"')
    message = journeys_error(JOURNEY.format(when=f'"{when}"'))
    assert message.startswith("j.yaml:5: journeys[0].entry.when: "), message
    assert problem in message, message
    assert not marker.exists()


def test_long_conditions_are_refused_before_parsing():
    long = " || ".join(["event.type == 'a'"] * 100)
    assert len(long) > MAX_LENGTH
    assert f"characters long (the limit is {MAX_LENGTH})" in journeys_error(JOURNEY.format(when=f'"{long}"'))
    with pytest.raises(JourneyError, match=f"the limit is {MAX_LENGTH}"):
        compile_condition("1" * 10 * MAX_LENGTH + " > 0", "w")


def test_deeply_nested_and_overly_complex_conditions_name_the_limit():
    with pytest.raises(JourneyError, match=f"the limit is {MAX_NESTING}"):
        compile_condition("(" * 40 + "true" + ")" * 40, "w")
    with pytest.raises(JourneyError, match=f"the limit is {MAX_NESTING}"):
        compile_condition("[" * 20 + "]" * 20 + " == []", "w")
    with pytest.raises(JourneyError, match=f"the limit is {MAX_DEPTH}"):
        compile_condition("!" * 900 + "true", "w")


@pytest.mark.parametrize("literal", ["9" * 900, "1e99999", "-" + "9" * 900, "0x" + "f" * 900,
                                     "'" + "a" * 900 + "'", "b'" + "\\x00" * 200 + "'", "1.0e308 * 1.0e308"])
def test_huge_literals_compile_or_fail_cleanly_and_never_raise_when_evaluated(literal):
    try:
        cond = compile_condition(f"{literal} != event.type", "w")
    except JourneyError as e:
        assert str(e).startswith("w: ")
        return
    # a runtime error (integer overflow, type mismatch) counts as False, never an exception into the pipeline
    assert cond.evaluate({"event": {"type": "page_view"}, "customer": {}}) in (True, False)


def test_a_bad_journey_file_never_reaches_the_pipeline(tmp_path):
    bad = tmp_path / "journeys.yaml"
    bad.write_text(textwrap.dedent(billion_laughs("journeys")))
    with pytest.raises(JourneyError, match="aliases are not allowed"):
        EngineConfig.from_files(journeys=str(bad))
    pol = tmp_path / "policy.yaml"
    pol.write_text("quiet_hours: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(PolicyError, match="nested more than 40 levels deep"):
        EngineConfig.from_files(policy=str(pol))
    links = tmp_path / "links.yaml"
    links.write_text(billion_laughs("max_per_kind"))
    with pytest.raises(ValueError, match="links.yaml:2: not valid YAML: YAML anchors/aliases are not allowed"):
        EngineConfig.from_files(link_rules=str(links))
    assert Path(bad).exists()  # nothing was deleted or rewritten either
