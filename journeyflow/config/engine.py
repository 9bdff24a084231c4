"""Engine configuration: journeys, policy, identity link rules and (optionally) the attributes file (declared
events, traits and computed attributes: ``journeyflow.stages.attributes_loader``), shipped to workers as text.

Files are read and validated once on the launcher (so a bad journey file fails the launch with a precise error,
not a worker), and the validated *text* travels with the pipeline; workers rebuild the engine in ``setup``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from journeyflow.config.errors import UserError
from journeyflow.config.yaml import MAX_CONFIG_BYTES, load_mapping
from journeyflow.stages.state import Retention

__all__ = ["MAX_CONFIG_BYTES", "EngineConfig", "default_text", "effective_retention"]

#: This thread's parsed journey engine and arbiter, by config.  Runners may call a DoFn's ``setup`` again and again
#: on fresh copies of the DoFn (Beam's bundle-based DirectRunner does it for every bundle, and parsing and validating
#: the journeys and policy then cost more than the bundle itself: 27% of a saturated local streaming run).  The
#: journey engine and the arbiter hold no per-customer data, so reusing them is safe; one per thread keeps the
#: compiled expressions unshared between threads.
_BUILT = threading.local()


def default_text(name: str) -> str:
    """The text of a packaged default file, ``journeyflow/defaults/<name>`` (``journeys.yaml``, ``policy.yaml``)."""
    return resources.files("journeyflow.defaults").joinpath(name).read_text()


def _read(path: str | None, default: str, option: str = "") -> tuple[str, str]:
    """(text, source name) of ``path``, or of the packaged ``default`` when no path is given.  Raises ValueError
    for a file over :data:`MAX_CONFIG_BYTES`, before reading it, and UserError for one that cannot be read
    (:func:`read_config_file`)."""
    if not path:
        return default_text(default), f"<default {default}>"
    p = Path(path)
    size = file_size(p, option)
    if size > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: {size} bytes is larger than the {MAX_CONFIG_BYTES} byte limit")
    return p.read_text(), str(p)


def file_size(path: Path, option: str = "") -> int:
    """The size in bytes of a configuration file given with ``option`` (``--attributes``); raises UserError
    ``--attributes FILE: no such file`` (or the system's reason) instead of a bare OSError."""
    try:
        if path.is_dir():
            raise UserError(f"{option + ' ' if option else ''}{path}: is a directory, not a file")
        return path.stat().st_size
    except OSError as e:
        why = "no such file" if isinstance(e, FileNotFoundError) else (e.strerror or str(e)).lower()
        raise UserError(f"{option + ' ' if option else ''}{path}: cannot read the file ({why})") from None


@dataclass(frozen=True)
class EngineConfig:
    """The validated configuration text of the decision engine: journeys, policy and identity link rules (each with
    the name of its source, for error messages), plus the state retention.  Frozen and hashable: it is the key of
    the per-thread cache of built engines, and it travels to workers as text."""

    journeys_yaml: str
    journeys_source: str
    policy_yaml: str
    policy_source: str
    link_rules_yaml: str | None = None
    link_rules_source: str = "<default link rules>"
    retention: Retention = Retention()
    attributes_yaml: str | None = None
    attributes_source: str = "<no attributes file>"
    segment_mapping_yaml: str | None = None
    segment_mapping_source: str = "<default segment_mapping.yaml>"

    @classmethod
    def from_files(cls, journeys: str | None = None, policy: str | None = None,
                   link_rules: str | None = None, attributes: str | None = None,
                   segment_mapping: str | None = None) -> "EngineConfig":
        """Read the files (the packaged defaults for journeys and policy when a path is None; no link rules file:
        the default rules; no attributes file: the built-in fields only; no Segment mapping: the shipped one) and
        validate them; raises the errors of :meth:`validate`, ValueError (too large) or UserError naming the
        option of a file that cannot be read (``--attributes FILE: cannot read ...``)."""
        from journeyflow.stages.segment.mapping import load_mapping_file
        j, js = _read(journeys, "journeys.yaml", "--journeys")
        p, ps = _read(policy, "policy.yaml", "--policy")
        lr, lrs = (None, "<default link rules>") if not link_rules else _read(link_rules, "", "--link_rules")
        at, ats = (None, "<no attributes file>") if not attributes else _read(attributes, "", "--attributes")
        sm, sms = (None, "<default segment_mapping.yaml>") if not segment_mapping else load_mapping_file(
            segment_mapping)
        cfg = cls(j, js, p, ps, lr, lrs, attributes_yaml=at, attributes_source=ats, segment_mapping_yaml=sm,
                  segment_mapping_source=sms)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Parse everything once; raises JourneyError / AttributesError / pydantic ValidationError with file and
        path.  The parsed journeys, engine and arbiter are kept (this thread's cache: :meth:`build_processor`), so
        the launcher's manifest and an in-process runner's workers do not parse them again."""
        self._built()
        self.link_rules()

    def mapped(self) -> dict[str, tuple[str, str]]:
        """Segment event name -> (built-in stream, type) of the Segment mapping the pipeline runs with (the shipped
        one without ``--segment_mapping``): a journey or attribute on such a name in stream ``track`` never fires,
        so loading rejects it (``Declarations.mapped``)."""
        from journeyflow.stages.segment.mapping import compiled_mapping
        m = compiled_mapping(self.segment_mapping_yaml, self.segment_mapping_source)
        return {name: (t.stream, t.type) for name, t in m.items()}

    def attributes(self):
        """The declared events, traits and computed attributes (an ``AttributeSet``, empty without a file: then
        only the Segment mapping's names, :meth:`mapped`, are in its declarations); raises ``AttributesError``."""
        from journeyflow.stages.attributes import AttributeSet
        from journeyflow.stages.attributes_loader import load_attributes_text
        from journeyflow.stages.declarations import Declarations
        if self.attributes_yaml is None:
            return AttributeSet(declarations=Declarations(mapped=self.mapped()))
        return load_attributes_text(self.attributes_yaml, self.attributes_source, self.mapped())

    def declared_types(self):
        """The property and trait types the attributes file declares, for the parser (``ParseConfig.declared_types``:
        :mod:`journeyflow.stages.declared_types`), or None without an attributes file or declared types."""
        if self.attributes_yaml is None:
            return None
        from journeyflow.stages.declared_types import DeclaredTypes
        return DeclaredTypes.of(self.attributes().declarations)

    def journeys(self):
        """The parsed journeys (a tuple of ``Journey``), conditions type-checked against the declared fields;
        raises ``JourneyError`` (or ``AttributesError`` for the attributes file)."""
        parts = getattr(_BUILT, "parts", {}).get(self)
        if parts is not None:  # (validated in this thread: :meth:`validate`)
            return parts[3]
        from journeyflow.stages.journeys.loader import load_journeys_text
        return load_journeys_text(self.journeys_yaml, self.journeys_source, self.attributes().declarations)

    def policy(self):
        """The parsed ``Policy``; raises ``PolicyError``."""
        from journeyflow.stages.arbitration.policy import Policy
        return Policy.from_yaml_text(self.policy_yaml, self.policy_source)

    def link_rules(self):
        """The identity ``LinkRules`` (the defaults when there is no link rules file).  Raises ``YamlError``
        (``<file>:<line>: not valid YAML: ...``), ValueError (not a mapping) or pydantic's ValidationError."""
        from journeyflow.stages.identity.rules import LinkRules
        if self.link_rules_yaml is None:
            return LinkRules()
        return LinkRules.model_validate(load_mapping(self.link_rules_yaml, self.link_rules_source, "link rules"))

    def build_processor(self):
        """A per-customer processor for this config.  The parsed journeys and policy (the costly part: YAML,
        JSON Schema, compiled expressions) are built once per thread and shared by the processors it returns."""
        from journeyflow.stages.processor import CustomerProcessor
        parts = self._built()
        return CustomerProcessor(parts[0], parts[1], parts[2])

    def _built(self) -> tuple:
        """This thread's ``(JourneyEngine, Arbiter, effective Retention, journeys)`` of this config, parsed on first
        use (attributes, journeys, then policy: their errors propagate, in that order)."""
        cache = getattr(_BUILT, "parts", None)
        if cache is None:
            cache = _BUILT.parts = {}
        parts = cache.get(self)
        if parts is None:
            if len(cache) >= 8:  # a process running many configs (tests): keep the newest few
                cache.pop(next(iter(cache)))
            from journeyflow.stages.arbitration.arbiter import Arbiter
            from journeyflow.stages.journeys.engine import JourneyEngine
            from journeyflow.stages.journeys.loader import load_journeys_text
            attributes = self.attributes()
            journeys = load_journeys_text(self.journeys_yaml, self.journeys_source, attributes.declarations)
            policy = self.policy()  # (customer.reachable sees the arbiter's soft-bounce limit)
            engine = JourneyEngine(journeys, attributes, soft_bounces=policy.deliverability.soft_bounces.rule())
            arbiter = Arbiter(policy)
            engine.open_ticket_ms = arbiter.lookback_ms().get("open_tickets")  # stale tickets: not open (facts)
            parts = cache[self] = (engine, arbiter, effective_retention(self.retention, engine, arbiter), journeys)
        return parts

    def effective_retention(self) -> Retention:
        """The retention the processors of this config use (see ``effective_retention``)."""
        return self.build_processor().retention


def effective_retention(base: Retention, engine, arbiter) -> Retention:
    """``base`` raised to every window the loaded journeys and policy name, so each configured window is enforced
    over its whole length: sends for the longest frequency-cap or duplicate-content window, purchases for the
    recent-purchase window, resolved tickets for the ticket grace period, soft bounces for the soft-bounce limit's
    window (``Arbiter.lookback_ms``), entry history
    for the longest re-entry cooldown (``JourneyEngine.lookback_ms``); finished memberships of journeys no longer
    configured are dropped.  Never lower than ``base`` (the defaults documented in ``journeyflow.stages.state``).
    Computed attributes keep their entries for their own window (``Retention.attributes``, from the attributes
    file); the data of attributes no longer declared is dropped (an engine without attributes: kept as is)."""
    from dataclasses import replace
    needs = {**arbiter.lookback_ms(), **engine.lookback_ms()}
    r = base.covering(needs, journey_ids=(j.id for j in engine.journeys))
    attributes = getattr(engine, "attributes", None)
    if not attributes:
        return r
    return replace(r, attributes=tuple(sorted(attributes.windows().items())))
