"""Engine configuration: journeys, policy and identity link rules, shipped to workers as text.

Files are read and validated once on the launcher (so a bad journey file fails the launch with a precise error,
not a worker), and the validated *text* travels with the pipeline; workers rebuild the engine in ``setup``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from journeyflow.stages.state import Retention

MAX_CONFIG_BYTES = 1 << 20

#: This thread's parsed journey engine and arbiter, by config.  Runners may call a DoFn's ``setup`` again and again
#: on fresh copies of the DoFn (Beam's bundle-based DirectRunner does it for every bundle, and parsing and validating
#: the journeys and policy then cost more than the bundle itself: 27% of a saturated local streaming run).  The
#: journey engine and the arbiter hold no per-customer data, so reusing them is safe; one per thread keeps the
#: compiled expressions unshared between threads.
_BUILT = threading.local()


def default_text(name: str) -> str:
    return resources.files("journeyflow.defaults").joinpath(name).read_text()


def _read(path: str | None, default: str) -> tuple[str, str]:
    if not path:
        return default_text(default), f"<default {default}>"
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: {size} bytes is larger than the {MAX_CONFIG_BYTES} byte limit")
    return p.read_text(), str(p)


@dataclass(frozen=True)
class EngineConfig:
    journeys_yaml: str
    journeys_source: str
    policy_yaml: str
    policy_source: str
    link_rules_yaml: str | None = None
    link_rules_source: str = "<default link rules>"
    retention: Retention = Retention()

    @classmethod
    def from_files(cls, journeys: str | None = None, policy: str | None = None,
                   link_rules: str | None = None) -> "EngineConfig":
        j, js = _read(journeys, "journeys.yaml")
        p, ps = _read(policy, "policy.yaml")
        lr, lrs = (None, "<default link rules>") if not link_rules else _read(link_rules, "")
        cfg = cls(j, js, p, ps, lr, lrs)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Parse everything once; raises JourneyError / pydantic ValidationError with file and path."""
        self.journeys()
        self.policy()
        self.link_rules()

    def journeys(self):
        from journeyflow.stages.journeys import load_journeys_text
        return load_journeys_text(self.journeys_yaml, self.journeys_source)

    def policy(self):
        from journeyflow.stages.arbitration import Policy
        return Policy.from_yaml_text(self.policy_yaml, self.policy_source)

    def link_rules(self):
        from journeyflow.stages.identity.rules import LinkRules
        if self.link_rules_yaml is None:
            return LinkRules()
        import yaml
        from journeyflow.stages.arbitration import _StrictLoader  # a policy file's limits: no aliases, bounded nesting
        try:
            data = yaml.load(self.link_rules_yaml, Loader=_StrictLoader) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{self.link_rules_source}:{mark.line + 1}" if mark is not None else self.link_rules_source
            raise ValueError(f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{self.link_rules_source}: link rules must be a YAML mapping")
        return LinkRules.model_validate(data)

    def build_processor(self):
        """A per-customer processor for this config.  The parsed journeys and policy (the costly part: YAML,
        JSON Schema, compiled expressions) are built once per thread and shared by the processors it returns."""
        cache = getattr(_BUILT, "parts", None)
        if cache is None:
            cache = _BUILT.parts = {}
        parts = cache.get(self)
        if parts is None:
            if len(cache) >= 8:  # a process running many configs (tests): keep the newest few
                cache.pop(next(iter(cache)))
            from journeyflow.stages.journeys import JourneyEngine
            from journeyflow.stages.arbitration import Arbiter
            parts = cache[self] = (JourneyEngine(self.journeys()), Arbiter(self.policy()))
        from journeyflow.stages.processor import CustomerProcessor
        return CustomerProcessor(parts[0], parts[1], self.retention)
