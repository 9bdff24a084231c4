"""Building a pipeline logs no false alarm about our DoFns.  Beam's check for a ``process`` that both yields and
returns a value (apache/beam#22969) reads every line starting with ``return `` as a value: ``return  # comment``
in ``OrderedCustomerFn.process`` made every streaming run warn "Using yield and return ... can lead to unexpected
behavior" (it was a bare return).  Checked on every DoFn class the project defines, with Beam's own check."""
from __future__ import annotations

import importlib
import pkgutil

import apache_beam as beam
from apache_beam.transforms import core


def _our_dofns() -> list[type]:
    # (journeyflow.* names only: the top-level ``pipelines`` / ``transforms`` directories imported under their own
    # names would define every options class twice, and Beam refuses a second ``--input``)
    for pkg in ("journeyflow.transforms", "journeyflow.pipelines", "journeyflow.tools", "journeyflow.stages"):
        for m in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + "."):
            importlib.import_module(m.name)
    out, todo = [], [beam.DoFn]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("journeyflow."):
                out.append(sub)
    return out


def test_no_dofn_of_ours_reads_as_yielding_and_returning_a_value():
    dofns = _our_dofns()
    assert any(d.__name__ == "OrderedCustomerFn" for d in dofns) and len(dofns) >= 10
    flagged = [f"{d.__module__}.{d.__name__}" for d in dofns if core._check_fn_use_yield_and_return(d.process)]
    assert flagged == []
