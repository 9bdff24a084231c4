"""journeyflow: unified customer journey orchestration as Apache Beam pipelines.

Layout, in dataflow order: ``model`` (typed records), ``config`` (YAML, durations, engine config), ``stages``
(parse → identity → state → journeys → arbitration, plain Python), ``transforms`` (the Beam layer), ``pipelines``
(assembly: replay, stream, Dataflow launcher), ``adapters`` (identity stores, Pub/Sub names), ``analytics``
(tables, quality, report, compare), ``tools`` (generator, benchmarks, Pub/Sub tooling, emulators) and ``cli``.
"""
from journeyflow.compiled import install as _install_compiled_finder

_install_compiled_finder()  # the compiled core's extensions, or their source (compiled.SourceFirst)
