"""``make bench`` section 1b/4d: the core decision path and the state size with ten computed attributes declared
(issue 19): the same population and fold as section 1 with :data:`TEN_ATTRIBUTES` declared (the headline figure),
and once more with :data:`TRAITS_JOURNEY` added, a journey whose condition reads three of them
(``customer.traits.*``; it proposes more messages, so part of its cost is arbitration)."""
from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

#: Interleaved rounds of the with/without variants (the best of each is the figure: on this 2-core VM the CPU time
#: of one identical fold varies by ±30 % from run to run, so a few rounds more make the figure steadier).
ROUNDS = 5

#: Ten computed attributes over the built-in events of the generated population (counts, sums, extremes, first,
#: last and distinct counts; windowed and all time; one with a ``where`` condition).
TEN_ATTRIBUTES = """\
version: 1
attributes:
  views_7d_all: {op: count, event: product_view, window: 7d}
  views_all_time: {op: count, event: product_view}
  carts_7d: {op: count, event: add_to_cart, window: 7d}
  logins_30d: {op: count, event: login, window: 30d}
  orders_90d_all: {op: count, event: order_placed, window: 90d}
  spend_90d: {op: sum, event: order_placed, property: amount, window: 90d}
  biggest_order: {op: max, event: order_placed, property: amount}
  first_order_at: {op: first, event: order_placed}
  last_product_7d: {op: last, event: product_view, property: product_id, window: 7d}
  big_orders: {op: count, event: order_placed, where: "event.amount > 100.0"}
"""

#: A journey reading the attributes (appended to the default journeys).
TRAITS_JOURNEY = """
  - id: bench_traits
    name: Reads computed attributes
    category: marketing
    priority: 50
    entry:
      event: product_view
      stream: web
      when: "customer.traits.views_7d_all >= 4 && customer.traits.spend_90d > 50.0 && customer.traits.carts_7d > 0"
    reentry: {mode: after_cooldown, cooldown: 7d}
    steps:
      - id: offer
        send: {channel: email, content_id: bench_offer}
"""


def config_with_attributes(reading_journey: bool = False):
    """The default journeys (``reading_journey``: plus :data:`TRAITS_JOURNEY`) and policy with
    :data:`TEN_ATTRIBUTES` declared."""
    from journeyflow.config.engine import EngineConfig, default_text
    journeys = default_text("journeys.yaml") + (TRAITS_JOURNEY if reading_journey else "")
    return EngineConfig(journeys, "<default journeys>" + (" + bench_traits" if reading_journey else ""),
                        default_text("policy.yaml"), "<default policy>", attributes_yaml=TEN_ATTRIBUTES,
                        attributes_source="<ten computed attributes>")


def bench_core_attributes(data: Path, parse_all: Callable, results: dict[str, Any], row: Callable) -> None:
    """Section 1b: CPU µs/event of identity + state + journeys + arbitration with ten attributes declared, under
    the replay's garbage-collector thresholds (``pipelines.replay.replay_gc``)."""
    print("\n1b. core decision path with ten computed attributes declared (interleaved with the same path without;"
          " the replay's GC thresholds)")
    from journeyflow.pipelines.replay import replay_gc
    with replay_gc():  # as the replay runs the fold (pipelines.replay.run_replay)
        _bench_core_attributes(data, parse_all, results, row)


def _bench_core_attributes(data: Path, parse_all: Callable, results: dict[str, Any], row: Callable) -> None:
    from journeyflow.stages.bounded import fold_clusters, resolve_clusters
    from journeyflow.stages.identity.rules import LinkRules

    from journeyflow.config.engine import EngineConfig

    events, _n, _parse_s = parse_all(data)
    until = max(e.ts for e in events)
    variants = {"without": (EngineConfig.from_files().build_processor(), ROUNDS),
                "declared": (config_with_attributes().build_processor(), ROUNDS),
                "declared, one journey reading them": (config_with_attributes(True).build_processor(), 1)}
    runs = _interleaved_rounds(events, until, variants)
    figures = {label: {"decision_path_us_per_event": min(runs[label])[0] / len(events) * 1e6,
                       "decisions": min(runs[label])[1],
                       "median_us_per_event": statistics.median(t for t, _d in runs[label]) / len(events) * 1e6,
                       "rounds": len(runs[label])} for label in variants}
    # (untimed) the size of every customer's state at the end, with the attributes
    clusters = resolve_clusters(events, LinkRules())
    sizes = [len(s.to_bytes()) for _c, out in fold_clusters(clusters, variants["declared"][0], until)
             for s in out.final_states.values()]
    figures["declared"]["mean_state_bytes"] = sum(sizes) / max(len(sizes), 1)
    figures["declared"]["max_state_bytes"] = max(sizes, default=0)
    results["core_attributes"] = {"events": len(events), **figures}
    base, head = figures["without"]["decision_path_us_per_event"], figures["declared"]["decision_path_us_per_event"]
    row("core", "decision path without attributes (this round), µs/event", f"{base:.1f}")
    row("core", "decision path with 10 computed attributes, µs/event", f"{head:.1f}",
        f"target <= 20 (best of {ROUNDS})")
    row("core", "  the same, median of the rounds, µs/event",
        f"{figures['declared']['median_us_per_event']:.1f}", "(reported: this VM's CPU time varies ±30 %)")
    row("core", "  cost of the 10 attributes, µs/event", f"{head - base:+.1f}", "(reported)")
    row("core", "  state bytes per customer at the end, mean / max",
        f"{figures['declared']['mean_state_bytes']:.0f} / {figures['declared']['max_state_bytes']}", "(reported)")
    row("core", "  ... and one journey reading 3 of them, µs/event",
        f"{figures['declared, one journey reading them']['decision_path_us_per_event']:.1f}", "(reported)")
    _compiled_and_pure(data, results, row)


def _compiled_and_pure(data: Path, results: dict[str, Any], row: Callable) -> None:
    """Which modules ran compiled (``journeyflow.compiled``), and the figures above once more with the plain-Python
    source of the same modules (a subprocess with ``JOURNEYFLOW_PURE_PYTHON=1``: :func:`pure_reference`)."""
    from journeyflow import compiled
    status = compiled.status()
    results["core_attributes"]["compiled_modules"] = f"{sum(status.values())}/{len(status)}"
    row("core", "  compiled core: modules running compiled", f"{sum(status.values())}/{len(status)}",
        "(journeyflow/compiled.py)")
    env = {**os.environ, compiled.PURE_PYTHON_ENV: "1"}
    done = subprocess.run([sys.executable, "-m", "journeyflow.tools.bench_attributes", str(data)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        row("core", "  the same in pure Python", "failed", done.stderr.strip().splitlines()[-1:] or "")
        return
    pure = json.loads(done.stdout.strip().splitlines()[-1])
    results["core_attributes"]["pure_python"] = pure
    row("core", "  the same in pure Python (best of 2), without / with the 10, µs/event",
        f"{pure['without']:.1f} / {pure['declared']:.1f}", "(reported: JOURNEYFLOW_PURE_PYTHON=1)")


def pure_reference(data: Path, rounds: int = 2) -> dict[str, float]:
    """Best CPU µs/event of identity + fold without and with :data:`TEN_ATTRIBUTES` over ``rounds`` interleaved
    rounds, in this process (run with ``JOURNEYFLOW_PURE_PYTHON=1`` by section 1b: the plain-Python figures);
    raises RuntimeError if a compiled module ran."""
    from journeyflow import compiled
    from journeyflow.config.engine import EngineConfig
    from journeyflow.pipelines.replay import replay_gc
    from journeyflow.tools.bench import parse_all

    events, _n, _s = parse_all(data)
    if any(compiled.status().values()):
        raise RuntimeError("a compiled module ran: set JOURNEYFLOW_PURE_PYTHON=1")
    variants = {"without": (EngineConfig.from_files().build_processor(), rounds),
                "declared": (config_with_attributes().build_processor(), rounds)}
    with replay_gc():
        runs = _interleaved_rounds(events, max(e.ts for e in events), variants)
    return {label: min(runs[label])[0] / len(events) * 1e6 for label in variants}


def _interleaved_rounds(events: list, until: int, variants: dict[str, tuple[Any, int]]) -> dict[str, list[tuple]]:
    """label → ``[(CPU seconds, decisions), ...]``, one per round, of identity + fold of ``events`` with each
    variant's processor; variants ``(processor, rounds)`` interleaved round by round (the machine is shared and its
    load drifts), each run after a ``gc.collect()`` (not the previous variant's garbage)."""
    from journeyflow.stages.bounded import fold_clusters, resolve_clusters
    from journeyflow.stages.identity.rules import LinkRules

    runs: dict[str, list[tuple]] = {label: [] for label in variants}
    for rnd in range(max(rounds for _p, rounds in variants.values())):
        for label, (processor, rounds) in variants.items():
            if rnd >= rounds:
                continue
            gc.collect()
            t = time.process_time()
            clusters = resolve_clusters(events, LinkRules())
            decisions = sum(len(out.decisions) for _c, out in fold_clusters(clusters, processor, until))
            runs[label].append((time.process_time() - t, decisions))
    return runs


def bench_state_attributes(state_after_a_year: Callable, results: dict[str, Any], row: Callable) -> None:
    """Section 4d: state bytes of the very active customer of section 4 with ten attributes declared."""
    size, events, _decisions = state_after_a_year(config_with_attributes())
    results.setdefault("state", {})["bytes_after_a_year_10_attributes"] = size
    row("state", f"  the same with 10 computed attributes declared ({events} events)", f"{size}", "(bounded)")


if __name__ == "__main__":  # section 1b's plain-Python reference: python -m journeyflow.tools.bench_attributes DATA
    os.environ.setdefault("JOURNEYFLOW_HASH_KEY", "bench-key")
    print(json.dumps(pure_reference(Path(sys.argv[1]))))
