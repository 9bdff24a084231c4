"""Packaged default configuration: ``journeys.yaml`` (the journey set) and ``policy.yaml`` (the arbitration
policy), read with ``importlib.resources`` by ``journeyflow.config.engine.default_text``."""
