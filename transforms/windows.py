"""Whether a PCollection's elements are all in Beam's default global windowing (streaming's re-windowing steps are
applied only where they change something: issue 22)."""
from __future__ import annotations

import apache_beam as beam


def in_global_windows(pcoll: beam.PCollection) -> bool:
    """True when every element of ``pcoll`` is in the default global windowing: its windowing is the default one
    and, for the output of a ``Flatten`` (whose windowing Beam reports as its *first* input's), so is every input's,
    recursively.  False otherwise (a ``WindowInto(GlobalWindows())`` is then needed before a stateful step that keys
    its state by the global window)."""
    if not pcoll.windowing.is_default():
        return False
    producer = pcoll.producer
    if producer is not None and isinstance(producer.transform, beam.Flatten):
        return all(in_global_windows(pc) for pc in producer.main_inputs.values())
    return True
