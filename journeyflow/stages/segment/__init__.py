"""Segment-Spec input (the ``track`` stream): message parsing (:mod:`.parse`), event time with the spec's clock-skew
correction (:mod:`.times`), the declarative mapping of semantic events onto the built-in streams (:mod:`.mapping`)
and batch envelopes (:mod:`.batch`).  Pure Python, no Beam."""
