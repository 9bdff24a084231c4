"""qa17g: the step charts stacked "deferred" on top of sent and suppressed, so the demo's welcome_email bar read
880 + 541 + 169 = 1,590 for 1,049 proposals: a deferred proposal is decided again after quiet hours and is then sent
or suppressed, so it was counted twice.  Now a step's bar ends at its proposals (its final outcomes stacked) and the
deferred are drawn apart."""
from __future__ import annotations

import re

from journeyflow.analytics import charts as ch

ROWS = [{"step": "welcome_email", "outcome": "sent", "n": 880, "order": 0},
        {"step": "welcome_email", "outcome": "deferred", "n": 541, "order": 1},
        {"step": "welcome_email", "outcome": "suppressed:consent", "n": 169, "order": 2},
        {"step": "reminder", "outcome": "sent", "n": 300, "order": 0},
        {"step": "reminder", "outcome": "deferred", "n": 20, "order": 1},
        {"step": "reminder", "outcome": "suppressed:frequency_cap", "n": 60, "order": 3}]
OUTCOMES = ["sent", "deferred", "suppressed:consent", "suppressed:frequency_cap"]


def _bars(svg: str) -> list[tuple[str, str, float, float]]:
    """(step, outcome, x, width) of every bar of the SVG."""
    out = []
    for label, x, w in re.findall(r'<path aria-label="([^"]*)"[^>]*d="M([\d.]+),[\d.]+h([\d.]+)v', svg):
        fields = dict(p.split(": ", 1) for p in label.split("; "))
        out.append((fields["step"], fields["outcome"], float(x), float(w)))
    return out


def test_each_step_bar_ends_at_its_proposals_not_sent_plus_deferred_plus_suppressed():
    bars = _bars(ch.to_svg(ch.step_outcomes_chart(ROWS, ["welcome_email", "reminder"], OUTCOMES, "t"), "s"))
    assert len(bars) == len(ROWS)
    sent = next(b for b in bars if b[:2] == ("welcome_email", "sent"))
    px = sent[3] / 880  # pixels per proposal
    for step in ("welcome_email", "reminder"):
        proposals = sum(r["n"] for r in ROWS if r["step"] == step and r["outcome"] != "deferred")
        end = max(x + w for s, _, x, w in bars if s == step)
        assert abs(end / px - proposals) < 1, (step, end / px, proposals)
        final = sorted((x, x + w) for s, o, x, w in bars if s == step and o != "deferred")
        assert all(abs(a[1] - b[0]) < 0.01 for a, b in zip(final, final[1:]))  # stacked, each proposal once
        deferred = [(x, w) for s, o, x, w in bars if s == step and o == "deferred"]
        n = next(r["n"] for r in ROWS if r["step"] == step and r["outcome"] == "deferred")
        assert len(deferred) == 1 and abs(deferred[0][1] / px - n) < 1  # drawn apart, at its own count
