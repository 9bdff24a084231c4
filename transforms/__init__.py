"""Beam PTransforms of journeyflow: thin wrappers around the plain-Python rules in ``journeyflow.stages``."""
