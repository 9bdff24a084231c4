"""Arbitration: decide once, upstream, what happens for one customer at one moment, and record why.

:mod:`.policy` (the pydantic policy model and its loader), :mod:`.scoring` (the ``Scorer`` protocol, the default
scorer and the scorer plug-in), :mod:`.reasons` (the reason codes) and :mod:`.arbiter` (the rules, in order, and the
decision records).  Plain Python, no Beam import.  This package re-exports the public API; ``scoring.scorer:
journeyflow.stages.arbitration:DefaultScorer`` in a policy file names the default scorer through it.
"""
from journeyflow.stages.arbitration.arbiter import Arbiter, ArbitrationResult
from journeyflow.stages.arbitration.policy import (
    DEFAULT_POLICY_FILE,
    MAX_POLICY_BYTES,
    Policy,
    PolicyError,
    default_policy,
    load_policy,
)
from journeyflow.stages.arbitration.reasons import (
    CHOSEN,
    CONSENT,
    CONTROL_GROUP,
    DUPLICATE_CANDIDATE,
    DUPLICATE_CONTENT,
    EXCLUSION_GROUP,
    FREQUENCY_CAP,
    INVALID_CANDIDATE,
    LOWER_PRIORITY,
    OPEN_TICKET,
    QUIET_HOURS_DEFERRED,
    REASON_CODES,
    RECENT_PURCHASE,
)
from journeyflow.stages.arbitration.scoring import (
    DEFAULT_SCORER_MODULES,
    DefaultScorer,
    Scorer,
    load_scorer,
)

__all__ = [
    "CHOSEN", "CONSENT", "CONTROL_GROUP", "DEFAULT_POLICY_FILE", "DEFAULT_SCORER_MODULES", "DUPLICATE_CANDIDATE",
    "DUPLICATE_CONTENT", "EXCLUSION_GROUP", "FREQUENCY_CAP", "INVALID_CANDIDATE", "LOWER_PRIORITY", "MAX_POLICY_BYTES",
    "OPEN_TICKET", "QUIET_HOURS_DEFERRED", "REASON_CODES", "RECENT_PURCHASE", "Arbiter",
    "ArbitrationResult", "DefaultScorer", "Policy", "PolicyError", "Scorer", "default_policy", "load_policy",
    "load_scorer",
]
