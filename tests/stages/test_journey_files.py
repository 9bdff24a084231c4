"""Journey file validation: every problem is reported as "<file>:<line>: <json path>: <what is wrong>"."""
from __future__ import annotations

import json
import textwrap
from importlib import resources

import jsonschema
import pytest

from journeyflow.stages.journeys import (
    DEFAULT_MAX_DURATION_MS,
    MAX_FILE_BYTES,
    JourneyError,
    load_journeys,
    load_journeys_text,
)
from journeyflow.config.yaml import format_path
from journeyflow.config.durations import parse_duration
from journeyflow.model.decisions import CATEGORIES, CHANNELS
from journeyflow.model.events import EVENT_TYPES, STREAMS
from journeyflow.stages.state import DAY, HOUR

F = "j.yaml"

VALID_JOURNEY = """\
  - id: ok
    category: sales
    priority: 10
    entry: {event: add_to_cart}
    steps:
      - id: mail
        send: {channel: email, content_id: c1}
"""


def errors_of(text: str, filename: str = F) -> list[str]:
    with pytest.raises(JourneyError) as ei:
        load_journeys_text(textwrap.dedent(text), filename)
    assert str(ei.value) == "\n".join(ei.value.errors)
    return ei.value.errors


def one_error(text: str) -> str:
    errs = errors_of(text)
    assert len(errs) == 1, errs
    return errs[0]


def test_valid_minimal_file_and_defaults():
    (j,) = load_journeys_text("journeys:\n" + VALID_JOURNEY, F)
    assert j.id == "ok" and j.name == "ok" and j.exclusion_group is None
    assert j.reentry.mode == "never" and j.control_group_pct == 0 and j.max_duration_ms == DEFAULT_MAX_DURATION_MS
    assert j.steps[0].next is None and j.entry[0].type == "add_to_cart" and j.entry[0].stream is None


def test_wrong_type():
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            priority: high
            entry: {event: add_to_cart}
            steps: [{id: s, exit: true}]
        """) == "j.yaml:4: journeys[0].priority: expected integer, got string"


def test_unknown_channel():
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - {id: s0, exit: true}
          - id: b
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: s1
                wait: 1h
              - id: s2
                send:
                  channel: fax
                  content_id: c
        """) == "j.yaml:17: journeys[1].steps[1].send.channel: 'fax' is not one of email, sms, push, call"


def test_missing_field():
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            entry: {event: add_to_cart}
            steps: [{id: s, exit: true}]
        """) == "j.yaml:2: journeys[0]: missing required field 'priority'"
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: s
                send:
                  content_id: x
        """) == "j.yaml:8: journeys[0].steps[0].send: missing required field 'channel'"


def test_unknown_field_suggests_the_right_name():
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: s
                send: {chanel: email, content_id: x, channel: sms}
        """) == "j.yaml:8: journeys[0].steps[0].send.chanel: unknown field 'chanel' (did you mean 'channel'?)"


def test_unknown_event_type_suggests_the_right_name():
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry:
              event: add_to_card
            steps: [{id: s, exit: true}]
        """) == "j.yaml:6: journeys[0].entry.event: 'add_to_card' is not a known value (did you mean 'add_to_cart'?)"


def test_duplicate_journey_ids():
    assert one_error("journeys:\n" + VALID_JOURNEY + VALID_JOURNEY) == \
        "j.yaml:9: journeys[1].id: duplicate journey id 'ok' (first defined at line 2)"


def test_duplicate_step_ids():
    assert one_error("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - {id: s, wait: 1h}
              - {id: s, exit: true}
        """) == "j.yaml:8: journeys[0].steps[1].id: duplicate step id 's' (first defined at line 7)"


@pytest.mark.parametrize("dur", ["1x", "0h", "h", "1.5h", "-1d", "10 d"])
def test_bad_duration(dur):
    msg = one_error(f"""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {{event: add_to_cart}}
            steps:
              - id: w
                wait: "{dur}"
        """)
    assert msg == (f"j.yaml:8: journeys[0].steps[0].wait: {dur!r} is not a duration (a positive number and a unit ms, "
                   f"s, m, h, d or w, e.g. 30m, 1h, 14d)")


def test_wait_until_needs_a_timeout_and_wait_needs_a_duration_or_object():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: w
                wait: {until: order_placed}
              - id: w2
                wait: 5
        """)
    assert errs == ["j.yaml:8: journeys[0].steps[0].wait: missing required field 'timeout'",
                    "j.yaml:10: journeys[0].steps[1].wait: expected object or string, got integer"]


@pytest.mark.parametrize("cond, what", [
    ("event.csat <=", "invalid CEL: unexpected end of condition"),
    ("event.csat = 2", "invalid CEL: syntax error at column 12 near '= 2' (CEL writes ==)"),
    ("csat <= 2", "unknown variable 'csat' (use event.… or customer.…)"),
    ("__import__('os').getcwd() == ''", "unknown method 'getcwd'"),
    ("open('/etc/passwd') == ''", "unknown function 'open'"),
])
def test_bad_cel(cond, what):
    assert one_error(f"""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry:
              event: ticket_resolved
              when: "{cond}"
            steps: [{{id: s, exit: true}}]
        """) == f"j.yaml:7: journeys[0].entry.when: {what}"


def test_bad_cel_in_a_branch_and_branch_to_unknown_step():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: b
                branch:
                  cases:
                    - when: "customer.cart_size >"
                      next: mail
                    - when: "customer.cart_size > 1"
                      next: mial
                  else: nowhere
              - id: mail
                send: {channel: email, content_id: x}
        """)
    assert errs == [
        "j.yaml:10: journeys[0].steps[0].branch.cases[0].when: invalid CEL: unexpected end of condition",
        "j.yaml:13: journeys[0].steps[0].branch.cases[1].next: unknown step 'mial' (did you mean 'mail'?)",
        "j.yaml:14: journeys[0].steps[0].branch.else: unknown step 'nowhere' (steps: b, mail)",
    ]


def test_unknown_next_and_wait_targets():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: w
                wait: {until: order_placed, timeout: 1d, on_event: zzz, on_timeout: m}
              - {id: m, send: {channel: email, content_id: x}, next: qqq}
        """)
    assert errs == ["j.yaml:8: journeys[0].steps[0].wait.on_event: unknown step 'zzz' (steps: w, m)",
                    "j.yaml:9: journeys[0].steps[1].next: unknown step 'qqq' (steps: w, m)"]


def test_loop_without_a_wait_and_unreachable_steps():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - {id: x, send: {channel: email, content_id: c}}
              - id: y
                branch: {cases: [{when: "customer.cart_size > 0", next: x}], else: end}
              - {id: orphan, send: {channel: sms, content_id: c}}
              - {id: end, exit: true}
        """)
    assert errs == ["j.yaml:7: journeys[0].steps[0]: steps x -> y -> x loop without a wait",
                    "j.yaml:10: journeys[0].steps[2].id: step 'orphan' is unreachable (no step leads to it)"]


def test_a_loop_through_a_wait_is_fine():
    (j,) = load_journeys_text(textwrap.dedent("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - {id: x, send: {channel: email, content_id: c}}
              - {id: w, wait: 1d}
              - id: y
                branch: {cases: [{when: "customer.cart_size > 0", next: x}]}
        """), F)
    assert j.steps[2].targets == ("x",)


def test_semantic_checks_on_triggers_durations_and_reentry():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: signup, stream: orders}
            reentry: {mode: always, cooldown: 1d}
            max_duration: 1h
            steps:
              - {id: w, wait: 2h}
              - {id: e, exit: true, next: w}
        """)
    assert errs == [
        "j.yaml:5: journeys[0].entry.stream: event 'signup' is not in stream 'orders' (it is in 'web')",
        "j.yaml:6: journeys[0].reentry.cooldown: cooldown is only used with mode after_cooldown (mode is always)",
        "j.yaml:7: journeys[0].max_duration: 1h is shorter than the longest wait (2h): the journey could never finish",
        "j.yaml:10: journeys[0].steps[1].next: an exit step ends the journey: it cannot have next",
    ]


def test_reentry_after_cooldown_needs_a_cooldown_and_control_pct_is_bounded():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            control_group_pct: 60
            reentry:
              mode: after_cooldown
            entry: {event: add_to_cart}
            steps: [{id: s, exit: true}]
        """)
    assert errs == ["j.yaml:5: journeys[0].control_group_pct: 60 must be at most 50",
                    "j.yaml:6: journeys[0].reentry: missing required field 'cooldown'"]


def test_step_needs_exactly_one_kind():
    errs = errors_of("""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {event: add_to_cart}
            steps:
              - id: none
              - id: two
                wait: 1h
                exit: true
        """)
    msg = "a step needs exactly one of send, create_task, route_case, wait, branch, exit"
    assert errs == [f"j.yaml:7: journeys[0].steps[0]: {msg}", f"j.yaml:8: journeys[0].steps[1]: {msg}"]


def test_all_errors_are_collected_in_line_order():
    errs = errors_of("""\
        journeys:
          - id: Bad-Id
            category: spam
            priority: 1
            entry: {event: add_to_cart}
            steps: [{id: s, send: {channel: fax, content_id: c}}]
          - id: b
            category: sales
            priority: 1
            entry: {event: add_to_cart, when: "event.x >"}
            steps: [{id: s, wait: 3q}]
        """)
    assert errs == [
        "j.yaml:2: journeys[0].id: 'Bad-Id' is not a valid id (lowercase letters, digits and _, starting with a "
        "letter, at most 64 characters)",
        "j.yaml:3: journeys[0].category: 'spam' is not one of service, transactional, sales, marketing",
        "j.yaml:6: journeys[0].steps[0].send.channel: 'fax' is not one of email, sms, push, call",
        "j.yaml:10: journeys[1].entry.when: invalid CEL: unexpected end of condition",
        "j.yaml:11: journeys[1].steps[0].wait: '3q' is not a duration (a positive number and a unit ms, s, m, h, d "
        "or w, e.g. 30m, 1h, 14d)",
    ]


def test_top_level_problems():
    assert one_error("") == "j.yaml:1: $: the file is empty (expected a mapping with 'journeys')"
    assert one_error("- 1\n- 2\n") == "j.yaml:1: $: expected object, got array"
    assert one_error("journeys: []\n") == "j.yaml:1: journeys: needs at least 1 item(s)"
    errs = errors_of("jorneys: []\n")
    assert errs == ["j.yaml:1: $: missing required field 'journeys'",
                    "j.yaml:1: jorneys: unknown field 'jorneys' (did you mean 'journeys'?)"]
    assert one_error("version: 2\njourneys:\n" + VALID_JOURNEY) == "j.yaml:1: version: only version 1 is supported"


def test_yaml_syntax_error_has_a_line():
    msg = one_error("journeys:\n  - id: a\n    steps: [\n  - oops: {\n")
    assert msg.startswith("j.yaml:") and ": $: invalid YAML: " in msg


def test_yaml_aliases_duplicate_keys_and_non_string_keys_are_rejected():
    errs = errors_of("""\
        journeys:
          - &j
            id: a
            category: sales
            category: marketing
            priority: 1
            entry: {event: add_to_cart}
            steps: [{id: s, exit: true}]
          - *j
        """)
    assert errs == ["j.yaml:5: journeys[0].category: duplicate key 'category' (first at line 4)",
                    "j.yaml:9: journeys[1]: YAML anchors/aliases are not allowed"]
    assert one_error("journeys:\n  - {1: x}\n") == "j.yaml:2: journeys[0]: mapping keys must be plain strings"


def test_billion_laughs_is_refused_quickly():
    lol = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lol.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
    errs = errors_of("\n".join(lol) + "\n")
    assert any("aliases are not allowed" in e for e in errs)


def test_too_large_file(tmp_path):
    big = "# " + "x" * MAX_FILE_BYTES + "\njourneys: []\n"
    assert one_error(big) == f"j.yaml:1: $: file is {len(big)} bytes, larger than the 1 MiB limit"
    p = tmp_path / "big.yaml"
    p.write_text(big)
    with pytest.raises(JourneyError) as ei:
        load_journeys(p)
    assert str(ei.value) == f"{p}:1: $: file is {len(big)} bytes, larger than the 1 MiB limit"


def test_too_many_journeys():
    text = "journeys:\n" + "".join(VALID_JOURNEY.replace("id: ok", f"id: j{i}") for i in range(201))
    assert one_error(text) == "j.yaml:1: journeys: 201 journeys, more than the limit of 200"
    text = "journeys:\n" + "".join(VALID_JOURNEY.replace("id: ok", f"id: j{i}") for i in range(200))
    assert len(load_journeys_text(text, F)) == 200


def test_too_deep_yaml():
    text = "journeys: " + "[" * 60 + "]" * 60 + "\n"
    assert one_error(text) == "j.yaml:1: journeys" + "[0]" * 40 + ": nested more than 40 levels deep"


def test_load_journeys_reads_a_path_and_reports_it(tmp_path):
    p = tmp_path / "journeys.yaml"
    p.write_text("journeys:\n" + VALID_JOURNEY.replace("priority: 10", "priority: -1"))
    with pytest.raises(JourneyError) as ei:
        load_journeys(p)
    assert ei.value.errors == [f"{p}:4: journeys[0].priority: -1 must be at least 0"]
    p.write_bytes(b"journeys: \xff\n")
    with pytest.raises(JourneyError, match=r":1: \$: file is not UTF-8"):
        load_journeys(p)


def test_condition_too_long_in_a_file():
    long = "event.amount > 1 && " * 60 + "true"
    msg = one_error(f"""\
        journeys:
          - id: a
            category: sales
            priority: 1
            entry: {{event: order_placed, when: "{long}"}}
            steps: [{{id: s, exit: true}}]
        """)
    assert msg == f"j.yaml:5: journeys[0].entry.when: condition is {len(long)} characters long (the limit is 1000)"


# ---------------------------------------------------------------------------------------------- schema and helpers
def _schema() -> dict:
    return json.loads((resources.files("journeyflow.schemas") / "journey.schema.json").read_text("utf-8"))


def test_schema_is_valid_draft_2020_12_and_in_step_with_the_model():
    s = _schema()
    jsonschema.Draft202012Validator.check_schema(s)
    d = s["$defs"]
    assert set(d["event_type"]["enum"]) == {t for ts in EVENT_TYPES.values() for t in ts}
    # the input streams plus `track` (user-named events, issue 19), whether or not the Segment stream is merged yet
    assert tuple(d["stream"]["enum"]) == tuple(dict.fromkeys(STREAMS + ("track",)))
    assert tuple(d["journey"]["properties"]["category"]["enum"]) == CATEGORIES
    assert tuple(d["step"]["properties"]["send"]["properties"]["channel"]["enum"]) == CHANNELS


def test_default_file_validates_against_the_schema_alone():
    import yaml

    text = (resources.files("journeyflow.defaults") / "journeys.yaml").read_text("utf-8")
    jsonschema.validate(yaml.safe_load(text), _schema())


def test_parse_duration_and_format_path():
    assert parse_duration("90s") == 90_000 and parse_duration("1h") == HOUR and parse_duration("14d") == 14 * DAY
    assert parse_duration("2w") == 14 * DAY and parse_duration("250ms") == 250
    for bad in ("0s", "1", "1y", "", "1h30m"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert format_path(("journeys", 2, "steps", 1, "channel")) == "journeys[2].steps[1].channel"
    assert format_path(()) == "$"
    assert format_path(("a b",)) == '["a b"]'


def test_total_condition_text_is_bounded():
    long = "event.type == '" + "x" * 977 + "'"
    case = f'          - {{when: "{long}", next: end}}\n'
    steps = "".join(f"      - id: b{k}\n        branch:\n          cases:\n" + case * 20 for k in range(11))
    text = ("journeys:\n  - id: a\n    category: sales\n    priority: 1\n    entry: {event: login}\n    steps:\n"
            + steps + "      - {id: end, exit: true}\n")
    errs = errors_of(text)
    assert len(errs) == 1
    assert errs[0].endswith(".when: the conditions of this file exceed 200000 characters in total")
    assert errs[0].startswith("j.yaml:") and "journeys[0].steps[10].branch.cases[" in errs[0]
