"""``journeyflow journeys validate`` type-checks conditions (issue 19): the issue's typos are rejected with
file:line (exit 2), the example with its attributes file passes, and ``journeyflow replay`` prints the runtime
condition errors it counted."""
from __future__ import annotations

import textwrap
from pathlib import Path

from journeyflow.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"
TYPOS = [("customer.lifecycle == 'lead'", "unknown field 'lifecycle' of customer"),
         ("customer.product_view_7d >= 3", "unknown field 'product_view_7d' of customer"),
         ("event.produkt_id == 'p1'", "unknown field 'produkt_id' of event 'product_view'"),
         ("customer.product_views_7d >= '3'", "customer.product_views_7d is an int, compared with a string ('3')"),
         ("event.cast > 1", "unknown field 'cast' of event 'product_view'")]


def test_validate_rejects_the_issues_typos_with_file_and_line(tmp_path, capsys):
    body = "".join(textwrap.dedent(f"""\
          - id: j{i}
            category: marketing
            priority: 1
            entry: {{event: product_view, stream: web, when: "{when}"}}
            steps: [{{id: s, exit: true}}]
        """) for i, (when, _) in enumerate(TYPOS))
    f = tmp_path / "j.yaml"
    f.write_text("version: 1\njourneys:\n" + textwrap.indent(body, "  "))
    assert main(["journeys", "validate", str(f)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(TYPOS)
    for i, (line, (_when, message)) in enumerate(zip(err, TYPOS)):
        assert f"{f}:{6 + 5 * i}: journeys[{i}].entry.when: " in line and message in line, line


def test_validate_with_an_attributes_file(capsys, tmp_path):
    j, a = str(EXAMPLE / "journeys.yaml"), str(EXAMPLE / "attributes.yaml")
    assert main(["journeys", "validate", j, "--attributes", a]) == 0
    assert "1 journeys OK (conditions type-checked)" in capsys.readouterr().out
    assert main(["journeys", "validate", j]) == 2  # without the declarations, customer.traits.plan is unknown
    # qa17g: and says where it is declared and how to pass it (it said "(none is declared)" only)
    err = capsys.readouterr().err
    assert "unknown field 'plan' of customer.traits (none is declared: declare it in an attributes file" in err
    assert "pass it with --attributes)" in err
    # the siblings that load the same journeys without the declarations say the same
    assert main(["journeys", "render", j, "--out", str(tmp_path / "j.html")]) == 2
    assert "pass it with --attributes)" in capsys.readouterr().err
    assert main(["replay", "--input", str(EXAMPLE), "--output", str(tmp_path / "out"), "--journeys", j]) == 2
    assert "pass it with --attributes)" in capsys.readouterr().err


def test_a_trigger_on_a_mapped_segment_event_in_stream_track_is_an_error(tmp_path, capsys):
    """``Signed In`` becomes web ``login`` (the shipped Segment mapping): on stream track it never fires.  With a
    mapping that does not list it, it is a user-named track event like any other."""
    f = tmp_path / "j.yaml"
    f.write_text(textwrap.dedent("""\
        version: 1
        journeys:
          - id: welcome_back
            category: marketing
            priority: 1
            entry: {event: Signed In, stream: track}
            steps: [{id: s, exit: true}]
        """))
    assert main(["journeys", "validate", str(f)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"{f}:6: journeys[0].entry.event: event 'Signed In' never reaches stream 'track': the Segment mapping turns "
        "it into web 'login' (use event: login, stream: web)")
    m = tmp_path / "m.yaml"
    m.write_text("version: 1\nevents: {}\n")
    assert main(["journeys", "validate", str(f), "--segment_mapping", str(m)]) == 0
    a = tmp_path / "a.yaml"
    a.write_text("version: 1\nattributes:\n  logins: {op: count, event: Signed In, stream: track}\n")
    f.write_text(f.read_text().replace("Signed In", "Welcome"))
    assert main(["journeys", "validate", str(f), "--attributes", str(a)]) == 2
    assert "a.yaml:3: attributes.logins.event: event 'Signed In' never reaches stream 'track'" in capsys.readouterr().err
    assert main(["journeys", "validate", str(f), "--attributes", str(a), "--segment_mapping", str(m)]) == 0


def test_default_journeys_validate(capsys):
    from journeyflow.config.engine import default_text
    assert "journeys:" in default_text("journeys.yaml")
    assert main(["journeys", "validate", "journeyflow/defaults/journeys.yaml"]) == 0


def test_replay_prints_condition_error_counts(tmp_path, capsys):
    """A condition reading a property most page views lack: each failed evaluation is counted and printed."""
    from journeyflow.config.engine import default_text
    from journeyflow.tools.generator import generate
    data, out = tmp_path / "data", tmp_path / "out"
    generate(20, 2, 7, str(data))
    journeys = tmp_path / "j.yaml"
    journeys.write_text(default_text("journeys.yaml") + textwrap.indent(textwrap.dedent("""\
        - id: plan_pages
          category: marketing
          priority: 10
          entry: {event: page_view, stream: web, when: "event.properties.plan_typo == 'pro'"}
          steps: [{id: s, send: {channel: push, content_id: p}}]
        """), "  "))
    page_views = sum(1 for line in open(data / "web.jsonl") if '"page_view"' in line)
    assert page_views > 0
    assert main(["replay", "--input", str(data), "--output", str(out), "--journeys", str(journeys)]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("condition errors")]
    assert len(lines) == 1
    n = int(lines[0].split()[2])
    assert 0 < n <= page_views and f"{n} CEL errors" in lines[0]
