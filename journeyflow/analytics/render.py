"""Journey diagrams: one layered SVG graph per journey, and a self-contained HTML page of them.

Pure string SVG (no Graphviz or other external tools).  Layout: the entry node on top, each step on the layer of its
shortest distance from the entry, an ``end`` node below when some path runs off the last step; edges go downwards,
edges back up (loops through a wait) are drawn as curves on the right.  Wait steps are amber, sends blue, tasks and
cases green, branches are diamonds-ish (purple), exits red.
"""
from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Iterable

from journeyflow.stages.journeys import Journey, Step, Trigger
from journeyflow.config.durations import format_duration

__all__ = ["render_html", "render_svg"]

NODE_W, NODE_H = 220, 48
GAP_X, GAP_Y = 40, 56
PAD = 20
HEADER_H = 58

_STYLE = {  # kind → (fill, stroke)
    "entry": ("#eef2f7", "#4a5568"),
    "send": ("#e6f0ff", "#2b6cb0"),
    "create_task": ("#e6f7ec", "#2f855a"),
    "route_case": ("#e6f7ec", "#2f855a"),
    "wait": ("#fff6e0", "#b7791f"),
    "branch": ("#f3e8ff", "#6b46c1"),
    "exit": ("#ffe8e8", "#c53030"),
    "end": ("#f7f7f7", "#718096"),
}


def _esc(text: object) -> str:
    return escape(str(text), quote=True)


def _short(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _trigger_text(t: Trigger) -> str:
    s = t.type if t.stream is None else f"{t.stream}/{t.type}"
    return f"{s} if {t.condition.text}" if t.condition is not None else s


def _step_lines(s: Step) -> tuple[str, str]:
    if s.kind == "send":
        sub = f"{s.channel} · {s.content_id}" + (" · product" if s.product_from_event else "")
        return f"send {s.id}", sub
    if s.kind in ("create_task", "route_case"):
        return f"{s.kind} {s.id}", str(s.content_id)
    if s.kind == "wait":
        if s.until is not None:
            return f"wait {s.id}", f"until {s.until.type} ≤ {format_duration(s.wait_ms or 0)}"
        return f"wait {s.id}", format_duration(s.wait_ms or 0)
    if s.kind == "branch":
        return f"branch {s.id}", f"{len(s.cases)} case(s) + else"
    return f"exit {s.id}", "leave the journey"


def _edges(j: Journey) -> list[tuple[str, str, str]]:
    """(from, to, label); "entry" and "end" are the virtual first and last nodes."""
    out: list[tuple[str, str, str]] = [("entry", j.first_step, "")]
    for s in j.steps:
        if s.kind == "exit":
            continue
        if s.kind == "branch":
            for i, (cond, tgt) in enumerate(s.cases, 1):
                out.append((s.id, tgt, f"{i}: {cond.text}"))
            out.append((s.id, s.else_ or "end", "else"))
        elif s.kind == "wait" and s.until is not None:
            out.append((s.id, s.on_event or "end", f"on {s.until.type}"))
            out.append((s.id, s.on_timeout or "end", f"timeout {format_duration(s.wait_ms or 0)}"))
        else:
            out.append((s.id, s.next or "end", format_duration(s.wait_ms) if s.kind == "wait" and s.wait_ms else ""))
    return out


def render_svg(journey: Journey) -> str:
    """One journey as a standalone SVG document (string)."""
    j = journey
    edges = _edges(j)
    has_end = any(t == "end" for _, t, _ in edges)
    nodes = ["entry"] + [s.id for s in j.steps] + (["end"] if has_end else [])
    # layers: shortest distance from the entry; "end" goes below everything
    layer = {"entry": 0}
    frontier = ["entry"]
    while frontier:
        nxt = []
        for n in frontier:
            for a, b, _ in edges:
                if a == n and b != "end" and b not in layer:
                    layer[b] = layer[n] + 1
                    nxt.append(b)
        frontier = nxt
    depth = max(layer.values(), default=0)
    for n in nodes:  # unreachable steps (not produced by the loader, but be total)
        if n not in layer and n != "end":
            depth += 1
            layer[n] = depth
    if has_end:
        layer["end"] = depth + 1
    rows: dict[int, list[str]] = {}
    for n in nodes:
        rows.setdefault(layer[n], []).append(n)
    width_nodes = max(len(r) for r in rows.values())
    inner_w = width_nodes * NODE_W + (width_nodes - 1) * GAP_X
    width = max(inner_w + 2 * PAD + 160, 560)  # room on the right for back edges and labels
    pos: dict[str, tuple[float, float]] = {}
    for li, names in rows.items():
        row_w = len(names) * NODE_W + (len(names) - 1) * GAP_X
        x0 = PAD + (inner_w - row_w) / 2
        for k, n in enumerate(names):
            pos[n] = (x0 + k * (NODE_W + GAP_X), HEADER_H + PAD + li * (NODE_H + GAP_Y))
    height = HEADER_H + 2 * PAD + (max(rows) + 1) * (NODE_H + GAP_Y) - GAP_Y
    mid = f"arrow-{j.id}"
    steps = {s.id: s for s in j.steps}

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey" data-journey="{_esc(j.id)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{_esc(j.name)} ({_esc(j.id)})</title>",
        f'<defs><marker id="{_esc(mid)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#4a5568"/></marker></defs>',
    ]
    # header
    meta = [f"{j.category} · priority {j.priority}"]
    if j.exclusion_group:
        meta.append(f"group {j.exclusion_group}")
    meta.append(f"reentry {j.reentry.mode}" + (f" {format_duration(j.reentry.cooldown_ms)}"
                                                if j.reentry.mode == "after_cooldown" else ""))
    if j.control_group_pct:
        meta.append(f"control {j.control_group_pct:g}%")
    meta.append(f"max {format_duration(j.max_duration_ms)}")
    ends = []
    if j.goal:
        ends.append("goal: " + ", ".join(_trigger_text(t) for t in j.goal))
    if j.exit:
        ends.append("exit: " + ", ".join(_trigger_text(t) for t in j.exit))
    out.append(f'<text x="{PAD}" y="22" font-size="15" font-weight="bold">{_esc(j.name)} '
               f'<tspan font-weight="normal" fill="#718096">({_esc(j.id)})</tspan></text>')
    out.append(f'<text x="{PAD}" y="40" fill="#4a5568">{_esc(" · ".join(meta))}</text>')
    if ends:
        out.append(f'<text x="{PAD}" y="54" fill="#4a5568">{_esc(_short(" · ".join(ends), 110))}</text>')

    # edges first (under the nodes)
    right = PAD + inner_w
    back = 0
    out.append('<g class="edges" fill="none" stroke="#4a5568" stroke-width="1.3">')
    for a, b, label in edges:
        if b not in pos:
            continue
        (ax, ay), (bx, by) = pos[a], pos[b]
        if layer[b] > layer[a]:
            x1, y1 = ax + NODE_W / 2, ay + NODE_H
            x2, y2 = bx + NODE_W / 2, by
            out.append(f'<path d="M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + GAP_Y / 2:.1f} {x2:.1f} {y2 - GAP_Y / 2:.1f} '
                       f'{x2:.1f} {y2:.1f}" marker-end="url(#{_esc(mid)})"/>')
            lx, ly = (x1 + x2) / 2 + 6, (y1 + y2) / 2 + 4
        else:  # back edge or same layer: around the right side
            back += 1
            off = right + 24 + 14 * back
            x1, y1 = ax + NODE_W, ay + NODE_H / 2
            x2, y2 = bx + NODE_W, by + NODE_H / 2
            out.append(f'<path d="M {x1:.1f} {y1:.1f} C {off:.1f} {y1:.1f} {off:.1f} {y2:.1f} {x2:.1f} {y2:.1f}" '
                       f'stroke-dasharray="4 3" marker-end="url(#{_esc(mid)})"/>')
            lx, ly = off + 4, (y1 + y2) / 2
        if label:
            out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" stroke="none" fill="#2d3748" font-size="11">'
                       f'{_esc(_short(label, 40))}</text>')
    out.append("</g>")

    # nodes
    out.append('<g class="nodes">')
    for n in nodes:
        x, y = pos[n]
        if n == "entry":
            kind, title = "entry", "entry"
            sub = " | ".join(_trigger_text(t) for t in j.entry)
        elif n == "end":
            kind, title, sub = "end", "end", "journey completed"
        else:
            s = steps[n]
            kind = s.kind
            title, sub = _step_lines(s)
        fill, stroke = _STYLE[kind]
        rx = 24 if kind in ("entry", "end", "exit") else 4 if kind != "wait" else 14
        out.append(f'<g class="node {kind}" data-step="{_esc(n)}">')
        if kind == "branch":
            cy = y + NODE_H / 2
            out.append(f'<polygon points="{x:.1f},{cy:.1f} {x + 18:.1f},{y:.1f} {x + NODE_W - 18:.1f},{y:.1f} '
                       f'{x + NODE_W:.1f},{cy:.1f} {x + NODE_W - 18:.1f},{y + NODE_H:.1f} {x + 18:.1f},'
                       f'{y + NODE_H:.1f}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>')
        else:
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="{rx}" '
                       f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>')
        out.append(f'<text x="{x + NODE_W / 2:.1f}" y="{y + 19:.1f}" text-anchor="middle" font-weight="bold" '
                   f'fill="{stroke}">{_esc(_short(title))}</text>')
        out.append(f'<text x="{x + NODE_W / 2:.1f}" y="{y + 36:.1f}" text-anchor="middle" fill="#2d3748">'
                   f'{_esc(_short(sub))}</text>')
        out.append(f"<title>{_esc(title)}: {_esc(sub)}</title></g>")
    out.append("</g></svg>")
    return "\n".join(out)


#: The marker of a page :func:`render_html` wrote (a ``<meta name="generator">`` in its head).
GENERATOR = '<meta name="generator" content="journeyflow journeys render">'


def is_journeys_page(path: str | os.PathLike[str]) -> bool:
    """True when the file ``path`` is a page :func:`render_html` wrote: its head holds :data:`GENERATOR`, or (pages
    written before the marker) it starts as those did (``<title>journeyflow journeys``, or the title given, followed
    by the page's legend).  ``journeyflow journeys render --out`` replaces such a page and keeps any other file."""
    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as f:
        head = f.read(4096)
    return GENERATOR.encode() in head or (head.startswith(b"<!DOCTYPE html>") and b"Solid arrows run downwards" in head)


def render_html(journeys: Iterable[Journey], title: str = "journeyflow journeys") -> str:
    """A self-contained HTML page (inline SVG and CSS, no scripts or external resources)."""
    js = list(journeys)
    toc = "".join(f'<li><a href="#j-{_esc(j.id)}">{_esc(j.name)}</a> <span>{_esc(j.category)} · '
                  f'{j.priority}</span></li>' for j in js)
    sections = "\n".join(
        f'<section id="j-{_esc(j.id)}"><h2>{_esc(j.name)} <code>{_esc(j.id)}</code></h2>\n{render_svg(j)}\n</section>'
        for j in js)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{GENERATOR}
<title>{_esc(title)}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #1a202c; }}
section {{ margin: 28px 0; padding-top: 8px; border-top: 1px solid #e2e8f0; }}
h2 {{ font-size: 18px; }} h2 code {{ font-size: 13px; color: #718096; }}
ul.toc span {{ color: #718096; font-size: 12px; }}
svg.journey {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{_esc(title)}</h1>
<p>{len(js)} journey(s). Solid arrows run downwards; dashed arrows loop back. Amber: waits, blue: sends,
green: tasks and cases, purple: branches, red: exits.</p>
<ul class="toc">{toc}</ul>
{sections}
</body>
</html>
"""
