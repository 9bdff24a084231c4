"""s22d: classes the compiled core builds as extension types (an augmenting ``.pxd`` beside the module, e.g.
``stages/processor.pxd``) still do what the plain-Python class does: a pickled copy (a Beam worker's) decides the
same, and an attribute set on an instance (a replaced method, a recorder arbiter) is the one used."""
from __future__ import annotations

import pickle


def _clusters(tmp_path):
    from journeyflow.analytics.compare import read_events
    from journeyflow.config.engine import EngineConfig
    from journeyflow.stages.bounded import resolve_clusters
    from journeyflow.tools.generator import generate

    generate(40, 10, 5, str(tmp_path))
    events, _read, _dead = read_events(tmp_path)
    config = EngineConfig.from_files()
    return config, resolve_clusters(events, config.link_rules()), max(e.ts for e in events)


def _fold(processor, clusters, until):
    from journeyflow.stages.bounded import fold_clusters
    out = []
    for cid, o in fold_clusters(clusters, processor, until):
        out.append((cid, [d.to_dict() for d in o.decisions], [repr(s) for s in o.steps],
                    sorted((k, s.to_bytes()) for k, s in o.final_states.items())))
    return out


def test_pickled_processor_decides_the_same(tmp_path):
    config, clusters, until = _clusters(tmp_path)
    processor = config.build_processor()
    copy = pickle.loads(pickle.dumps(processor))
    for name in ("engine", "arbiter", "retention", "expire_every_ms", "max_isolated", "dormant_ms", "_heard"):
        assert getattr(copy, name) == getattr(processor, name) or name in ("engine", "arbiter"), name
    want = _fold(processor, clusters, until)
    assert sum(len(d) for _c, d, _s, _st in want) > 10  # (decisions to compare)
    assert _fold(copy, clusters, until) == want


def test_instance_attributes_are_the_ones_used(tmp_path):
    config, clusters, until = _clusters(tmp_path)
    processor = config.build_processor()
    calls = []
    real = processor.arbiter

    class Recorder:
        def __getattr__(self, name):
            return getattr(real, name)

        def arbitrate(self, *args):
            calls.append(args[2])
            return real.arbitrate(*args)

    processor.arbiter = Recorder()
    processor.marker = "kept"  # (any other attribute: kept on the instance)
    want = _fold(config.build_processor(), clusters, until)
    assert _fold(processor, clusters, until) == want
    assert calls and processor.marker == "kept"
