"""The per-channel automation baseline of ``journeyflow compare``: every journey on its own, per identifier, through
the real journey engine and customer processor but with :class:`PassThroughArbiter` (what a channel tool does:
its own opt-outs and addresses, nothing else).  See :mod:`journeyflow.analytics.compare` for the full model."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

from journeyflow.model.events import Event
from journeyflow.model.decisions import Candidate, Decision, decision_id
from journeyflow.analytics.conflicts import ADDRESS_OF, OPT_OUT, PROMO
from journeyflow.analytics.persons import _rank

# ============================================================================================ automation
@dataclass(slots=True)
class _Result:
    decisions: list[Decision]
    deferred: list = field(default_factory=list)


class PassThroughArbiter:
    """What per-channel tools do: every proposed candidate goes out, unless the channel's own opt-out list has
    the identifier it was told about or the address it would send to (its latest address for that identifier:
    opted out or hard-bounced), or that identifier has no address on the channel.

    Same ``arbitrate`` signature as :class:`journeyflow.stages.arbitration.Arbiter`.  ``products`` collects
    ``(customer_id, decision_id) -> product_id`` of every send, for the recent-purchase detector.

    ``opt_in_categories``: categories whose sends the channel tool only makes to identifiers with an explicit
    ``granted`` status on the channel (a stricter baseline; empty by default: tools only know opt-outs).
    """

    def __init__(self, opt_in_categories: Iterable[str] = ()) -> None:
        self.products: dict[tuple[str, str], str | None] = {}
        self.opt_in = frozenset(opt_in_categories)

    def arbitrate(self, state: Any, candidates: Sequence[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> _Result:
        """Decide every candidate at ``now`` in a fixed order (journey, step, channel, content): ``send`` unless it is a
        control (``none``, reason ``control_group``) or the channel tool stops it (``suppress`` with ``opted_out``,
        ``not_opted_in`` or ``undeliverable``); records the sends in ``state`` and :attr:`products`."""
        out: list[Decision] = []
        for c in sorted(candidates, key=lambda c: (c.journey_id, c.step_id, c.channel, c.content_id or "")):
            reason = None
            key = raw = None
            if c.control:
                reason = "control_group"
            elif c.action == "send":
                st = state.consent.get(c.channel)
                if c.channel in ADDRESS_OF:
                    found = state.addresses_of(ADDRESS_OF[c.channel])
                    key, raw = found[0] if found else (None, None)
                if st and st[0] in OPT_OUT:
                    reason = "opted_out"
                elif c.category in self.opt_in and not (st and st[0] == "granted"):
                    reason = "not_opted_in"
                elif c.channel in ADDRESS_OF and key is None:
                    reason = "undeliverable"
                elif key is not None and state.address_block(key, c.channel, now) is not None:
                    reason = "opted_out"
            action = c.action if reason is None else ("none" if reason == "control_group" else "suppress")
            did = decision_id("automation", customer_id, trigger_id, c.journey_id, c.step_id, action, c.channel,
                              c.content_id, now)
            sent = reason is None and c.action == "send"
            out.append(Decision(did, customer_id, now, c.journey_id, c.step_id, action, c.channel, c.content_id,
                                c.category, c.priority, (reason or "sent",), (), trigger_id,
                                raw if sent else None, key if sent else None))
            if reason is None and c.action == "send":
                state.record_send(now, c.channel, c.category, c.content_id)
                self.products[(customer_id, did)] = c.product_id
        return _Result(out)


def _independent(journeys: Iterable[Any]) -> list[Any]:
    """Journeys configured one by one in separate tools: no exclusion groups between them."""
    return [replace(j, exclusion_group=None) if j.exclusion_group is not None else j for j in journeys]


def run_automation(events: Sequence[Event], journeys: Iterable[Any], until: int | None,
                   retention: Any = None, opt_in: bool = False, attributes: Any = None
                   ) -> tuple[list[Decision], dict[tuple[str, str], str | None]]:
    """The baseline: each identifier's own events, time-sorted, through the journeys and PassThroughArbiter
    (with ``opt_in``, promo sends also need an explicit grant recorded for that same identifier).  ``retention``:
    journeyflow's effective one (``EngineConfig.effective_retention``), so the journeys' customer facts mean what
    they mean in journeyflow: a ticket stale under the policy's ``open_tickets.stale_after``
    (``Retention.open_ticket_ms``) is not open in ``customer.open_tickets`` and its siblings; None: the default
    retention raised to the journeys' cooldowns, no stale cutoff.  ``attributes``: the declared traits and computed
    attributes (``EngineConfig.attributes()``) the journeys' conditions read, computed as journeyflow does."""
    from journeyflow.stages.journeys import JourneyEngine
    from journeyflow.stages.processor import CustomerProcessor, Outputs
    from journeyflow.stages.state import CustomerState, Retention

    arbiter = PassThroughArbiter(PROMO if opt_in else ())
    engine = JourneyEngine(_independent(journeys), attributes)
    retention = retention or Retention().covering(engine.lookback_ms(), journey_ids=(j.id for j in engine.journeys))
    engine.open_ticket_ms = retention.open_ticket_ms  # the facts' stale-ticket rule, as journeyflow's engine has it
    proc = CustomerProcessor(engine, arbiter, retention)
    by_key: dict[str, list[Event]] = defaultdict(list)
    for ev in events:
        by_key[min(ev.ids, key=_rank)].append(ev)
    decisions: list[Decision] = []
    for key in sorted(by_key):
        evs = sorted(by_key[key], key=lambda e: e.sort_key)
        out = Outputs()
        proc.advance(CustomerState(customer_id=key), evs, until, out)
        decisions.extend(out.decisions)
    return decisions, arbiter.products


