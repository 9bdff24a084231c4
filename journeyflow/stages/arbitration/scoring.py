"""Scoring: the order of candidates of the same category and priority, and the scorer plug-in.

The policy's ``scoring`` section either sets weights for :class:`DefaultScorer` or names a class
``package.module:ClassName`` that :func:`load_scorer` imports from an allow-listed module.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from journeyflow.model.decisions import Candidate
from journeyflow.stages.arbitration.policy import SCORER_SPEC_RE, PolicyError
from journeyflow.stages.state import CustomerState

__all__ = ["DEFAULT_SCORER_MODULES", "DefaultScorer", "Scorer", "load_scorer"]

#: Modules a policy file may name in ``scoring.scorer`` (the module itself or a submodule of it).  The list lives in
#: code, not in the policy file, so that whoever edits the YAML cannot make the pipeline import arbitrary code;
#: deployments extend it through ``Arbiter(..., allowed_scorer_modules=...)``.
DEFAULT_SCORER_MODULES: tuple[str, ...] = ("journeyflow_scoring", "journeyflow.stages.arbitration")


@runtime_checkable
class Scorer(Protocol):
    """Orders candidates of the same category and priority: higher score first.

    A data-science team plugs its own model in with ``scoring.scorer: "package.module:ClassName"`` (the class is
    imported from an allow-listed, installed module and created with ``scoring.options`` as keyword arguments).
    It must be deterministic (same candidate, state and time give the same score), fast (it runs for every
    candidate), picklable (it travels to the Beam workers) and must not mutate the state.  An exception it raises
    propagates out of ``Arbiter.arbitrate``; a NaN score counts as 0.
    """

    def score(self, candidate: Candidate, state: CustomerState, now: int) -> float:
        """The candidate's score at event time ``now`` (ms); higher is better."""
        ...


class DefaultScorer:
    """``candidate.score`` × category weight × journey weight (``scoring.weights`` / ``scoring.journey_weights``)."""

    def __init__(self, weights: Mapping[str, float] | None = None,
                 journey_weights: Mapping[str, float] | None = None) -> None:
        self.weights = dict(weights or {})
        self.journey_weights = dict(journey_weights or {})

    def score(self, candidate: Candidate, state: CustomerState, now: int) -> float:
        """``candidate.score`` × the weight of its category × the weight of its journey (weights default to 1)."""
        s = candidate.score * self.weights.get(candidate.category, 1.0)
        if self.journey_weights:
            s *= self.journey_weights.get(candidate.journey_id, 1.0)
        return s


def _allowed(module: str, allowed: Sequence[str]) -> bool:
    """True when ``module`` is one of ``allowed`` or a submodule of one."""
    return any(module == a or module.startswith(a + ".") for a in allowed)


def load_scorer(spec: str, options: Mapping[str, Any] | None = None,
                allowed_modules: Sequence[str] = DEFAULT_SCORER_MODULES) -> Scorer:
    """Import ``package.module:ClassName`` from an allow-listed module and instantiate it with ``options``.

    Only ``importlib.import_module`` + ``getattr`` are used (no eval); the module and the class's defining module
    must both be in ``allowed_modules`` (so an allowed module cannot re-export e.g. ``subprocess.Popen``).
    """
    if not SCORER_SPEC_RE.fullmatch(spec or ""):
        raise PolicyError(f"scoring.scorer: expected 'package.module:ClassName' (got {spec!r})")
    module_name, _, attr = spec.partition(":")
    if not _allowed(module_name, allowed_modules):
        raise PolicyError(f"scoring.scorer: module {module_name!r} is not an allowed scorer module "
                          f"(allowed: {', '.join(allowed_modules) or 'none'})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise PolicyError(f"scoring.scorer: cannot import {module_name!r}: {e}") from None
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise PolicyError(f"scoring.scorer: {spec!r} is not a class")
    if not _allowed(cls.__module__, allowed_modules):
        raise PolicyError(f"scoring.scorer: {spec!r} is defined in {cls.__module__!r}, not an allowed module")
    try:
        inst = cls(**dict(options or {}))
    except TypeError as e:
        raise PolicyError(f"scoring.scorer: cannot create {spec} with options {sorted(options or {})}: {e}") from None
    if not callable(getattr(inst, "score", None)):
        raise PolicyError(f"scoring.scorer: {spec} has no score(candidate, state, now) method")
    return inst
