"""Journey diagrams: well-formed SVG with one node per step, and a self-contained HTML page."""
from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET

import pytest

from journeyflow.stages.journeys import default_journeys, load_journeys_text
from journeyflow.analytics.render import render_html, render_svg

SVG = "{http://www.w3.org/2000/svg}"

EVERY_KIND = textwrap.dedent("""\
    journeys:
      - id: every_kind
        name: "Every <kind> & \\"quotes\\""
        category: sales
        priority: 500
        exclusion_group: g
        control_group_pct: 5
        entry: {event: checkout_started, when: "customer.cart_size > 0 && event.properties.amount < 100.0"}
        goal: [{event: order_placed}]
        exit: [{event: unsubscribed}]
        reentry: {mode: after_cooldown, cooldown: 7d}
        steps:
          - {id: mail, send: {channel: email, content_id: c1, product_from_event: true}}
          - id: w
            wait: {until: order_placed, timeout: 1d, on_event: done, on_timeout: check}
          - id: check
            branch:
              cases:
                - {when: "customer.consent.sms && customer.messages_24h < 2", next: sms}
                - {when: "customer.open_tickets > 0", next: case}
              else: task
          - {id: sms, send: {channel: sms, content_id: c2}, next: pause}
          - {id: case, route_case: {content_id: billing}, next: done}
          - {id: task, create_task: {content_id: call}, next: done}
          - {id: pause, wait: 2d, next: check}
          - {id: done, exit: true}
    """)


def nodes(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.get("data-step") for g in root.iter(f"{SVG}g") if g.get("data-step") is not None]


@pytest.mark.parametrize("journey", default_journeys(), ids=lambda j: j.id)
def test_default_journeys_render_as_well_formed_svg_with_a_node_per_step(journey):
    svg = render_svg(journey)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    steps = nodes(svg)
    assert [s for s in steps if s not in ("entry", "end")] == [s.id for s in journey.steps]
    assert steps[0] == "entry"
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(arrows) >= len(journey.steps)  # entry edge + at least one edge per non-exit step


def test_every_step_kind_escaping_and_back_edges():
    (j,) = load_journeys_text(EVERY_KIND, "t.yaml")
    svg = render_svg(j)
    root = ET.fromstring(svg)  # well-formed despite <, & and quotes in names and conditions
    assert nodes(svg) == ["entry", "mail", "w", "check", "sms", "case", "task", "pause", "done"]
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "Every <kind> & \"quotes\"" in text
    assert "customer.cart_size > 0 && event.properties.amount < 100.0" in root.find(f".//{SVG}g[@data-step='entry']/"
                                                                          f"{SVG}title").text
    for label in ("on order_placed", "timeout 1d", "else", "2d", "1: customer.consent.sms"):
        assert label in text, label
    kinds = {g.get("data-step"): g.get("class") for g in root.iter(f"{SVG}g") if g.get("data-step")}
    assert kinds["mail"] == "node send" and kinds["w"] == "node wait" and kinds["check"] == "node branch"
    assert kinds["case"] == "node route_case" and kinds["task"] == "node create_task" and kinds["done"] == "node exit"
    dashed = [p for p in root.iter(f"{SVG}path") if p.get("stroke-dasharray")]
    assert dashed  # pause -> check goes back up
    assert "end" not in kinds  # every path ends in the exit step


def test_html_page_is_self_contained_with_one_svg_per_journey():
    js = default_journeys()
    html = render_html(js)
    assert html.startswith("<!DOCTYPE html>")
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == len(js)
    for s in svgs:
        ET.fromstring(s)
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    ids = re.findall(r'<marker id="([^"]+)"', html)
    assert len(ids) == len(set(ids)) == len(js)  # marker ids are unique within the page
