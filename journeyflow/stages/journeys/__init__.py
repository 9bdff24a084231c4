"""Declarative journeys: the model (:mod:`.model`), the file loader (:mod:`.loader`) and the engine that runs
journeys for one customer (:mod:`.engine`).  Conditions are :mod:`journeyflow.stages.conditions`.

Plain Python, no Beam import.  This package re-exports the public API, so ``from journeyflow.stages.journeys import
JourneyEngine, load_journeys`` works; the modules are the homes of the code.
"""
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.engine import (
    COUNTERS,
    MAX_STEPS_PER_RUN,
    JourneyEngine,
)
from journeyflow.stages.journeys.loader import (
    MAX_CONDITION_CHARS,
    MAX_FILE_BYTES,
    MAX_JOURNEYS,
    default_journeys,
    load_journeys,
    load_journeys_text,
)
from journeyflow.stages.journeys.model import (
    ACTION_KINDS,
    DEFAULT_MAX_DURATION_MS,
    MAX_ENTRIES_KEPT,
    STEP_KINDS,
    STREAM_OF_TYPE,
    TASK_CHANNEL,
    Journey,
    JourneyOutput,
    JourneyStep,
    Reentry,
    Step,
    Trigger,
    control_bucket,
)

__all__ = [
    "ACTION_KINDS", "COUNTERS", "DEFAULT_MAX_DURATION_MS", "MAX_CONDITION_CHARS", "MAX_ENTRIES_KEPT", "MAX_FILE_BYTES",
    "MAX_JOURNEYS", "MAX_STEPS_PER_RUN", "STEP_KINDS", "STREAM_OF_TYPE", "TASK_CHANNEL", "Journey", "JourneyEngine",
    "JourneyError", "JourneyOutput", "JourneyStep", "Reentry", "Step", "Trigger", "control_bucket",
    "default_journeys", "load_journeys", "load_journeys_text",
]
