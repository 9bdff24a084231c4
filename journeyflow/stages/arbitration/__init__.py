"""Arbitration: decide once, upstream, what happens for one customer at one moment, and record why.

:mod:`.policy` (the pydantic policy model and its loader), :mod:`.scoring` (the ``Scorer`` protocol, the default
scorer and the scorer plug-in), :mod:`.reasons` (the reason codes), :mod:`.arbiter` (the rules, in order) and
:mod:`.records` (the decision records).  Plain Python, no Beam import.  This package re-exports the public API
(the individual reason codes stay in :mod:`.reasons`); ``scoring.scorer:
journeyflow.stages.arbitration:DefaultScorer`` in a policy file names the default scorer through it.
"""
from journeyflow.stages.arbitration.arbiter import Arbiter
from journeyflow.stages.arbitration.policy import (
    DEFAULT_POLICY_FILE,
    MAX_POLICY_BYTES,
    Policy,
    PolicyError,
    default_policy,
    load_policy,
)
from journeyflow.stages.arbitration.reasons import CHOSEN, REASON_CODES
from journeyflow.stages.arbitration.records import ArbitrationResult, decisions_of
from journeyflow.stages.arbitration.scoring import (
    DEFAULT_SCORER_MODULES,
    DefaultScorer,
    Scorer,
    load_scorer,
)

__all__ = [
    "CHOSEN", "DEFAULT_POLICY_FILE", "DEFAULT_SCORER_MODULES", "MAX_POLICY_BYTES", "REASON_CODES", "Arbiter",
    "ArbitrationResult", "DefaultScorer", "Policy", "PolicyError", "Scorer", "decisions_of", "default_policy",
    "load_policy", "load_scorer",
]
