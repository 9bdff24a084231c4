"""The report of ``journeyflow compare``: per side (automation, journeyflow) a :class:`SideSummary`, and the
:class:`CompareReport` of both with the cuts (percent fewer on journeyflow's side), as text and as JSON."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from journeyflow.analytics.conflicts import CONFLICT_KINDS, CONFLICT_LABELS, MESSAGE_CHANNELS

AUTOMATION = "automation"
JOURNEYFLOW = "journeyflow"


@dataclass
class SideSummary:
    """One side's figures (automation or journeyflow) over the same persons: messages per channel and journey,
    what the channel tools stopped, tasks, per-person counts, conflicts per kind (:data:`CONFLICT_KINDS`) and goal
    conversions."""

    name: str
    messages: Counter = field(default_factory=Counter)  # channel -> messages delivered to the channel tool
    by_journey: Counter = field(default_factory=Counter)
    undeliverable: int = 0  # email/sms/call sends without a (deliverable) address for the customer id
    no_address: int = 0  # journeyflow: candidates suppressed with reason no_address (part of undeliverable)
    opted_out: int = 0  # automation: stopped by the channel tool's own opt-out list
    not_opted_in: int = 0  # automation with opt_in: promo without a grant for that identifier
    tasks: int = 0  # crm tasks / service cases (not messages)
    persons_messaged: int = 0
    max_per_person: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)
    consent_detail: dict[str, int] = field(default_factory=dict)
    ticket_unlinked: int = 0  # open-ticket sends where no open ticket was linked to the recipient at send time
    quiet_tz_unknown: int = 0  # quiet-hours sends to persons whose time zone no source had recorded yet
    examples: dict[str, list[str]] = field(default_factory=dict)  # conflict -> a few decision ids
    goal_sends: int = 0
    goal_persons: int = 0  # persons sent a goal-journey message: the denominator of converted_persons
    conversions: int = 0  # orders within 7 days after a goal-journey send
    converted_persons: int = 0

    @property
    def total(self) -> int:
        """Messages delivered to the channel tools, all channels."""
        return sum(self.messages.values())

    def to_dict(self, persons: int) -> dict[str, Any]:
        """The JSON form; per-person ratios are over ``persons`` (all persons of the input) and rounded to 4 places."""
        return {
            "messages": {"total": self.total, **{ch: self.messages.get(ch, 0) for ch in MESSAGE_CHANNELS}},
            "messages_by_journey": dict(sorted(self.by_journey.items())),
            "messages_per_person": round(self.total / persons, 4) if persons else None,
            "messages_per_messaged_person": round(self.total / self.persons_messaged, 4)
            if self.persons_messaged else None,
            "persons_messaged": self.persons_messaged,
            "max_messages_per_person": self.max_per_person,
            "undeliverable": self.undeliverable,
            "suppressed_no_address": self.no_address,
            "opted_out_by_channel_tool": self.opted_out,
            "not_opted_in_by_channel_tool": self.not_opted_in,
            "tasks_and_cases": self.tasks,
            "conflicts": dict(self.conflicts),
            "no_consent_detail": dict(self.consent_detail),
            "open_ticket_not_linked_to_recipient_at_send": self.ticket_unlinked,
            "quiet_hours_tz_unknown_at_send": self.quiet_tz_unknown,
            "conflict_examples": {k: v for k, v in self.examples.items() if v},
            "goal_journey_sends": self.goal_sends,
            "goal_conversions": {"orders": self.conversions, "persons": self.converted_persons,
                                 "persons_sent": self.goal_persons},
        }


def _pct_cut(before: int, after: int) -> float | None:
    return None if before == 0 else round(100.0 * (before - after) / before, 1)


@dataclass
class CompareReport:
    """Both sides of one ``journeyflow compare`` run; ``.render()`` is the text table, ``.to_dict()`` the JSON file."""

    input_dir: str
    person_basis: str  # ground_truth | identity_clusters
    persons: int
    events: int
    horizon: int | None
    automation: SideSummary
    journeyflow: SideSummary
    unnecessary: int
    unnecessary_by_journey: Counter
    journeyflow_only: int
    journeyflow_only_by_journey: Counter
    fold_check: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    opt_in_baseline: bool = False
    #: The journeys whose sends the goal conversions follow (:func:`journeyflow.analytics.conflicts.goal_journeys`).
    goal_journeys: tuple[str, ...] = ("cart_abandonment", "browse_offer", "winback")

    @property
    def message_cut_pct(self) -> float | None:
        """Percent fewer messages on journeyflow's side (one decimal); None without automation messages."""
        return _pct_cut(self.automation.total, self.journeyflow.total)

    @property
    def unnecessary_pct(self) -> float | None:
        """Unnecessary messages as a percent of the automation's (one decimal); None without any."""
        b = self.automation.total
        return None if b == 0 else round(100.0 * self.unnecessary / b, 1)

    def conflict_cuts(self) -> dict[str, float | None]:
        """``{conflict kind: percent fewer on journeyflow's side}`` (None where the automation had none)."""
        return {k: _pct_cut(self.automation.conflicts.get(k, 0), self.journeyflow.conflicts.get(k, 0))
                for k in CONFLICT_KINDS}

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready dicts (written by ``journeyflow compare --json``)."""
        return {
            "input": self.input_dir,
            "person_basis": self.person_basis,
            "automation_baseline": "opt_in" if self.opt_in_baseline else "opt_out_only",
            "persons": self.persons,
            "events": self.events,
            "horizon": self.horizon,
            AUTOMATION: self.automation.to_dict(self.persons),
            JOURNEYFLOW: self.journeyflow.to_dict(self.persons),
            "cut_pct": {"messages": self.message_cut_pct,
                        **{ch: _pct_cut(self.automation.messages.get(ch, 0), self.journeyflow.messages.get(ch, 0))
                           for ch in MESSAGE_CHANNELS},
                        "conflicts": self.conflict_cuts()},
            "unnecessary": {"messages": self.unnecessary, "pct_of_automation_messages": self.unnecessary_pct,
                            "by_journey": dict(sorted(self.unnecessary_by_journey.items()))},
            "journeyflow_only": {"messages": self.journeyflow_only,
                                 "by_journey": dict(sorted(self.journeyflow_only_by_journey.items()))},
            "goal_journeys": list(self.goal_journeys),
            "fold_check": dict(self.fold_check),
            "notes": list(self.notes),
        }

    def render(self) -> str:
        """The side-by-side text table printed by ``journeyflow compare`` (cuts in percent), then the notes."""
        a, j = self.automation, self.journeyflow
        n = self.persons
        w = 44

        def row(label: str, av: Any, jv: Any, cut: Any = "") -> str:
            return f"{label:<{w}}{_fmt(av):>12}{_fmt(jv):>13}{_fmt(cut):>9}"

        def cut(x: int, y: int) -> str:
            c = _pct_cut(x, y)
            return "" if c is None else f"{c:.1f}%"

        lines = [f"compare: {self.input_dir}  ({self.events} events, {n} persons by {self.person_basis})",
                 "",
                 f"{'':<{w}}{'automation':>12}{'journeyflow':>13}{'cut':>9}",
                 row("messages sent", a.total, j.total, cut(a.total, j.total))]
        for ch in MESSAGE_CHANNELS:
            lines.append(row(f"  {ch}", a.messages.get(ch, 0), j.messages.get(ch, 0),
                             cut(a.messages.get(ch, 0), j.messages.get(ch, 0))))
        lines += [
            # (a rate over nobody is no rate: "-", as None in --json, not 0.00)
            row("messages per person", a.total / n if n else None, j.total / n if n else None),
            row("messages per messaged person", a.total / a.persons_messaged if a.persons_messaged else None,
                j.total / j.persons_messaged if j.persons_messaged else None),
            row("persons messaged", a.persons_messaged, j.persons_messaged),
            row("most messages to one person", a.max_per_person, j.max_per_person),
            row("not sent: no address (undeliverable)", a.undeliverable, j.undeliverable),
            row("  of which journeyflow's no_address", "-", j.no_address),
            row("not sent: channel tool's opt-out list", a.opted_out, "-"),
            *([row("not sent: no opt-in for that identifier", a.not_opted_in, "-")] if self.opt_in_baseline else []),
            row("tasks and cases (not messages)", a.tasks, j.tasks),
            "",
            "conflicts (messages; detectors independent of journeyflow's policy code)",
        ]
        for k in CONFLICT_KINDS:
            av, jv = a.conflicts.get(k, 0), j.conflicts.get(k, 0)
            lines.append(row(CONFLICT_LABELS[k], av, jv, cut(av, jv)))
            if k == "open_ticket":
                lines.append(row("      ticket not linked to recipient yet", a.ticket_unlinked,
                                 j.ticket_unlinked))
            if k == "quiet_hours":
                lines.append(row("      time zone not yet in any source", a.quiet_tz_unknown, j.quiet_tz_unknown))
            if k == "no_consent":
                for sub in ("opted_out", "never_granted"):
                    lines.append(row(f"      {sub.replace('_', ' ')}", a.consent_detail.get(sub, 0),
                                     j.consent_detail.get(sub, 0)))
        lines += [
            "",
            "goal journeys: " + (", ".join(self.goal_journeys) or "none (no journey of the run is a shipped "
                                 "cart/browse/winback journey or has an order as its goal)"),
            row("goal-journey sends", a.goal_sends, j.goal_sends),
            row("  persons sent one", a.goal_persons, j.goal_persons),
            row("orders <=7 d after such a send", a.conversions, j.conversions),
            row("  persons with such an order", a.converted_persons, j.converted_persons),
            row("    of the persons sent one", _share(a.converted_persons, a.goal_persons),
                _share(j.converted_persons, j.goal_persons)),
            "",
            f"unnecessary messages: {self.unnecessary} = {_pct(self.unnecessary_pct)} of automation's {a.total}",
            "  (automation sends journeyflow did not make, matched per person + journey + content within ±1 day)",
        ]
        if self.unnecessary_by_journey:
            lines.append("  by journey: " + ", ".join(f"{k} {v}" for k, v in sorted(
                self.unnecessary_by_journey.items(), key=lambda kv: (-kv[1], kv[0]))))
        lines.append(f"journeyflow-only messages (no automation counterpart): {self.journeyflow_only}")
        if self.journeyflow_only_by_journey:
            lines.append("  by journey: " + ", ".join(f"{k} {v}" for k, v in sorted(
                self.journeyflow_only_by_journey.items(), key=lambda kv: (-kv[1], kv[0]))))
        fc = self.fold_check
        lines.append(f"pipeline check: {fc.get('pipeline_sends', 0)} sends from the pipeline, "
                     f"{fc.get('matched', 0)} identical in the in-process fold"
                     + ("" if fc.get("identical") else "  (MISMATCH: see fold_check in --json)"))
        if self.notes:
            lines.append("")
            lines += [f"note: {x}" for x in self.notes]
        return "\n".join(lines)


def _share(k: int, n: int) -> str:
    """``k`` of ``n`` as a percentage (``"-"`` of nobody)."""
    return f"{100 * k / n:.1f}%" if n else "-"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)

