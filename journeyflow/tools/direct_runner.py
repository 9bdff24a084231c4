"""Local streaming on Beam's bundle-based DirectRunner: fixes of its costs and of one way it blocks, for local runs
only.

``pipelines.stream.run_stream`` applies :func:`tune_direct_runner` when it runs on a direct runner (and ``make
bench`` applies it to the trivial pipeline it compares with).  Dataflow, Flink and the bounded FnApiRunner are
unaffected.  If a Beam upgrade renames the internals, each patch logs a warning and does nothing.

1. **Pull deadline.**  The runner's Pub/Sub reader (``_PubSubReadEvaluator``) pulls with a hard-coded 30 s deadline
   and moves the source's watermark to wall-clock time only when a pull returns.  The Pub/Sub emulator (like the
   service's long poll) holds a pull on an *empty* subscription open until that deadline (measured here: 29 s),
   and the runner evaluates sources one after another, so with one subscription per stream plus the
   state-transfer subscription every idle one holds the watermark — and so every event-time timer — back by ~30 s
   per round.  With a 1 s deadline an empty pull returns after at most 1 s.
2. **Pull size.**  The same reader asks for at most 10 messages per pull, and every pull becomes one bundle that
   the single-threaded runner walks through every step of the graph; per-bundle costs (below) then dominate.
   Pulling up to ``max_messages`` (200) raised journeyflow's sustained rate from 32 to 156 events/s on the emulator
   (``make bench``, section 3); a pull still returns what is there, so a light load is not held back.
3. **DoFn introspection.**  For every bundle of every ParDo, the runner asks ``userstate.get_dofn_specs`` whether
   the DoFn is stateful, which builds an ``inspect.signature`` of every method of the DoFn (30 methods, most of
   them DoFn's own): a third of the CPU of a saturated run.  State and timer specs are declared on the DoFn's class
   (as parameter defaults of its methods), so they are computed once per class; a ``Map``/``FlatMap`` wrapper's
   specs are those of its function's defaults.  DoFns whose instances carry their own methods are inspected as
   before.
4. **Message size.**  Against the emulator (``PUBSUB_EMULATOR_HOST``) the reader's ``SubscriberClient`` keeps
   gRPC's default 4 MiB receive limit (measured: a 5 MB message fails the pull with ``ResourceExhausted: Received
   message larger than max (5000090 vs. 4194304)``); the pull is never acknowledged, so the message, and every
   message pulled with it, comes back every ack deadline, forever.  Pub/Sub accepts messages up to 10 MB.  The
   reader's client gets a channel without a receive limit (as the client library configures it for the real
   service: ``grpc.max_receive_message_length`` -1); the pipeline then dead-letters what is too large
   (``payload_too_large``, ``journeyflow.stages.parse``).

5. **Garbage collector.**  A local streaming run is one long-lived process whose start-up leaves ~245,000 objects
   (Beam's and journeyflow's modules, the graph) that every full collection walks again, and the runner allocates
   fast (state copies, bundles, timer firings), so CPython's default thresholds (700, 10, 10) ran ~1,240
   collections taking 2.8-3.1 of 11-12.5 CPU-seconds of a 3,000-record TestStream run (``gc.callbacks``; 0.2-0.3 of
   1.5-2.2 s for the trivial pipeline's 6,000).  :func:`tune_gc` collects once, moves what survives out of the
   collector's reach (``gc.freeze``: start-up objects stay alive anyway) and raises the first threshold to 20,000
   allocations: 0.6-0.9 s of GC in the same run, 10.9 -> 8.4 CPU-seconds at best of three interleaved runs.  Reference
   counting frees everything as before; only cycles among the frozen start-up objects are never collected.

The reader's other failure, a ``ts`` attribute it cannot parse, is avoided by reading without
``timestamp_attribute`` on this runner (``transforms.sources``).
"""
from __future__ import annotations

import gc
import logging
import threading
import types
from typing import Any

log = logging.getLogger(__name__)

PULL_DEADLINE_S = 1.0
MAX_MESSAGES = 200

#: gRPC channel options of the reader's subscriber client on the emulator: no receive limit, as the client library
#: sets for the real service.
LARGE_MESSAGE_OPTIONS: tuple[tuple[str, int], ...] = (("grpc.max_receive_message_length", -1),
                                                      ("grpc.max_send_message_length", -1))

_PULL_PATCHED = False
_SPECS_PATCHED = False
_SIZE_PATCHED = False
_GC_TUNED = False

#: Collector thresholds of a local streaming process (fix 5): never lowered below what is set already.
GC_THRESHOLD = (20_000, 10, 10)


def tune_direct_runner(pull_deadline_s: float = PULL_DEADLINE_S, max_messages: int = MAX_MESSAGES) -> bool:
    """Applies the five fixes and fixes 7-10 of :mod:`journeyflow.tools.direct_runner_bundles` (DoFns reused across
    bundles, no empty bundles handed on, cheaper state-cell look-ups, global re-windowing without its DoFn) and fix
    14 of :mod:`journeyflow.tools.direct_runner_metrics` (user metrics counted in every bundle, not only each step's
    first; idempotent); True when all of them are in place."""
    from journeyflow.tools.direct_runner_bundles import reuse_dofns_across_bundles
    from journeyflow.tools.direct_runner_metrics import count_metrics_per_bundle

    pulls = cap_direct_runner_pull(pull_deadline_s, max_messages)
    specs = memoize_dofn_specs()
    sizes = accept_large_pubsub_messages()
    reused = reuse_dofns_across_bundles()
    counted = count_metrics_per_bundle()
    tune_gc()
    return pulls and specs and sizes and reused and counted


def tune_gc(threshold: tuple[int, int, int] = GC_THRESHOLD) -> None:
    """Fix 5 of the module docstring, once per process: a full collection, ``gc.freeze()`` of what survives, and
    the collector's thresholds raised to at least ``threshold``."""
    global _GC_TUNED
    if _GC_TUNED:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*(max(a, b) for a, b in zip(gc.get_threshold(), threshold)))
    _GC_TUNED = True


def subscriber_client(options: tuple[tuple[str, int], ...] = LARGE_MESSAGE_OPTIONS) -> Any:
    """A ``google.cloud.pubsub.SubscriberClient``; on the emulator (``PUBSUB_EMULATOR_HOST``) over an insecure
    channel with ``options`` (default: no message size limit), otherwise the library's own (already unlimited)."""
    import os

    from google.cloud import pubsub

    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if not host:
        return pubsub.SubscriberClient()
    import grpc
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    channel = grpc.insecure_channel(host, options=list(options))
    return pubsub.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


def accept_large_pubsub_messages() -> bool:
    """Give the DirectRunner's Pub/Sub reader a subscriber client that receives messages of any size (fix 4 of the
    module docstring; idempotent); False (with a warning) when Beam's internals changed."""
    global _SIZE_PATCHED
    if _SIZE_PATCHED:
        return True
    try:
        import weakref

        from apache_beam.runners.direct import transform_evaluator as te
        evaluator = te._PubSubReadEvaluator
        state_class = te._PubSubSubscriberClient
        cache = evaluator._subscriber_client_cache
        evaluator._get_subscriber_client_state_unlocked.__func__  # noqa: B018 - the method being replaced
    except (ImportError, AttributeError):
        log.warning("cannot raise the DirectRunner's Pub/Sub message size limit (Beam internals changed); a "
                    "message over 4 MiB will block its subscription on the emulator")
        return False

    def _get_subscriber_client_state_unlocked(cls: Any, transform: Any) -> Any:
        state = cache.get(transform)
        if state is None:
            state = state_class(subscriber_client())
            cache[transform] = state
            weakref.finalize(transform, state.close)
        return state

    evaluator._get_subscriber_client_state_unlocked = classmethod(_get_subscriber_client_state_unlocked)
    _SIZE_PATCHED = True
    return True


def cap_direct_runner_pull(seconds: float = PULL_DEADLINE_S, max_messages: int = MAX_MESSAGES) -> bool:
    """Make the DirectRunner's Pub/Sub pulls wait at most ``seconds`` and ask for at least ``max_messages`` per
    pull (idempotent); False (with a warning) when Beam's internals changed."""
    global _PULL_PATCHED
    if _PULL_PATCHED:
        return True
    try:
        from apache_beam.runners.direct import transform_evaluator as te
        evaluator = te._PubSubReadEvaluator
        original = evaluator._get_subscriber_client.__func__
    except (ImportError, AttributeError):
        log.warning("cannot tune the DirectRunner's Pub/Sub pulls (Beam internals changed); idle subscriptions "
                    "will delay the watermark by up to 30 s and pulls stay at 10 messages")
        return False

    class _TunedPull:
        def __init__(self, client: Any):
            self._client = client

        def pull(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = min(kwargs.get("timeout") or seconds, seconds)
            kwargs["max_messages"] = max(kwargs.get("max_messages") or 0, max_messages)
            return self._client.pull(*args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    def _get_subscriber_client(cls: Any, transform: Any) -> Any:
        return _TunedPull(original(cls, transform))

    evaluator._get_subscriber_client = classmethod(_get_subscriber_client)
    _PULL_PATCHED = True
    return True


def memoize_dofn_specs() -> bool:
    """Cache the DirectRunner's per-bundle DoFn state/timer introspection per DoFn class (idempotent); False
    (with a warning) when Beam's internals changed."""
    global _SPECS_PATCHED
    if _SPECS_PATCHED:
        return True
    try:
        from apache_beam.runners.direct import transform_evaluator as te
        from apache_beam.transforms import userstate
        from apache_beam.transforms.core import CallableWrapperDoFn, _DoFnParam
        original = userstate.get_dofn_specs
        assert te.get_dofn_specs is original
    except (ImportError, AttributeError, AssertionError):
        log.warning("cannot memoize the DirectRunner's DoFn introspection (Beam internals changed)")
        return False

    cache: dict[type, tuple[frozenset, frozenset]] = {}
    lock = threading.Lock()

    def _has_dofn_params(fn: types.FunctionType) -> bool:
        defaults = (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values())
        return any(isinstance(d, _DoFnParam) for d in defaults)

    def get_dofn_specs(dofn: Any) -> tuple[set, set]:
        if isinstance(dofn, CallableWrapperDoFn):
            fn = dofn._fn
            if isinstance(fn, types.FunctionType) and not _has_dofn_params(fn):
                return set(), set()
            return original(dofn)
        if any(isinstance(v, (types.FunctionType, types.MethodType)) for v in vars(dofn).values()):
            return original(dofn)  # methods set on the instance: inspect this one
        cls = type(dofn)
        specs = cache.get(cls)
        if specs is None:
            states, timers = original(dofn)
            specs = (frozenset(states), frozenset(timers))
            with lock:
                cache[cls] = specs
        return set(specs[0]), set(specs[1])

    get_dofn_specs.original = original  # type: ignore[attr-defined]
    userstate.get_dofn_specs = get_dofn_specs  # is_stateful_dofn / validate_stateful_dofn look it up here
    te.get_dofn_specs = get_dofn_specs
    _SPECS_PATCHED = True
    return True
