"""Local streaming on Beam's bundle-based DirectRunner: DoFn instances reused across bundles, fix seven next to those
of :mod:`journeyflow.tools.direct_runner` and :mod:`journeyflow.tools.direct_runner_timers` (local runs only).

7. **A DoFn per bundle.**  For every bundle of every ParDo the runner's ``_ParDoEvaluator.start_bundle`` pickles the
   step's DoFn and unpickles a fresh copy (``pickler.roundtrip``, "the pickle test"), calls its ``setup``, and
   ``finish_bundle`` calls its ``teardown``.  A streaming run makes a bundle per step for every input chunk and every
   round of timer firings, so journeyflow paid, hundreds of times per run, for pickling its engine configuration
   into each stage's DoFn, building the per-customer processor and the parser again (``setup``) and losing the
   stage's cache of decoded buffered events (``transforms.decide_streaming``) after every bundle: a fifth of the
   runner thread's samples in a 3,000-record TestStream run (issue 22).  Beam's model lets a runner reuse a DoFn
   instance for any number of bundles (Dataflow does: ``setup`` once, ``start_bundle``/``finish_bundle`` per
   bundle, ``teardown`` when the worker is done with it), so every journeyflow DoFn is already written for it.
   Here each step keeps a pool of instances that are set up: a bundle takes one (or unpickles a new one from the
   step's DoFn, the pickle test still made once per instance, and sets it up), and gives it back when the bundle
   finishes; an instance whose bundle failed is not given back (a retry gets a fresh one, as before).  The pooled
   instances are torn down when the pipeline ends (``await_completion``, or a cancel's ``request_shutdown``).
   Steps that run their DoFn without the pickle test (Beam's own splittable-DoFn evaluator) are unchanged.
   The runner still builds a ``DoFnRunner`` per bundle, which inspects the signature of each of the DoFn's methods
   (``core.get_function_arguments``: ``inspect.signature``, another 6 % of the samples); the arguments of a method
   defined on the DoFn's class are the same for every instance and bundle, so they are remembered per (class, method
   name) (a method set on the instance, or a class with its own ``_inspect_<method>``, is inspected as before).
8. **Empty bundles.**  A ParDo's bundle hands on one output bundle per output tag, with or without elements, and
   the runner starts every consumer on each of them: the per-customer stage's five tags made empty bundles for the
   message steps on nearly every timer round (``DeadLetterMessages``: 213 bundles for 49 dead letters in a
   3,000-record run, ~0.2 ms each).  An empty bundle carries no element and holds no watermark (a bundle holds the
   consumer's watermark only at its elements' times), so the ParDo's output bundles without elements are dropped.
9. **State cell look-ups.**  Every call of a stateful DoFn's ``process`` or timer callback asks the runner's
   ``DirectUserStateContext.get_state`` for each of its state parameters: the key is encoded again for each, the
   spec's kind found by a chain of ``isinstance`` checks and a lambda made for the lazy read (12 % of the samples of
   the same run, for four cells per call).  The replacement encodes a call's key once (the key object of the previous
   look-up, compared by identity), finds the runtime cell's class by the spec's exact type and reads lazily through
   a ``functools.partial``; the cells, their cache per (encoded key, window, spec) and the commit are Beam's.  A spec
   of another type is looked up as before.  (In :mod:`journeyflow.tools.direct_runner_cells`, with point 13: the
   cells themselves made, read and written with fewer calls.)  A timer firing's key is decoded from its encoded key
   (Beam's ``process_timer``); for a ``str`` key, the one encoding ``FastPrimitivesCoder`` and ``StrUtf8Coder``
   give it, that encoded key is what the cell and timer look-ups use (not encoded again).  A timer parameter's
   ``RuntimeTimer`` is made with the three attributes its ``__init__`` sets, without the call.
10. **Re-windowing into the global window.**  ``WindowInto(GlobalWindows())`` before a stateful step (the
   per-customer stage's ``WindowGlobal``, the address router's ``AddressWindowGlobal``) runs its DoFn for every
   element, ~11 µs each, although on an input already in the global window it gives the element back unchanged: a
   new windowed value with the same value, timestamp and the one global window.  Such an element now becomes that
   windowed value directly (an element in any other window goes through the DoFn as before).  Since the eighteenth
   session the streaming graph has these steps only where an input is in other windows (``transforms.windows``):
   this still serves such graphs (tests' fixed windows).
11. **The watermark a timer fires at.**  A timer callback learns only its own time, so a stage that re-arms its
   timer for a time the input watermark has already passed waits for the runner to fire it in a later round (a
   bundle, a state commit and a timer scan each: at the end of a TestStream run, every customer's waits and expiry
   took a round each, ~50 µs of runner per firing).  During a timer firing of a ParDo, the step's input watermark
   (epoch ms, floored, from the runner's own ``_TransformWatermarks``) is given to
   ``transforms.decide_streaming.set_timer_input_watermark`` (a thread-local the stage reads; the worker path
   imports nothing from here, and on other runners it stays None).  The per-customer stage uses it only to
   know that the input has ended (a watermark past the end of the global window): a finite watermark does not
   promise that no element dated behind it is still to come (upstream steps stamp event time, and the local Pub/Sub
   source's watermark follows publish time).
12. **State commit.**  After every bundle of a stateful step the runner's ``DirectUserStateContext.commit`` walks
   every cell a call asked for (the per-customer stage asks for five and two timers per element and per firing)
   through a chain of ``isinstance`` checks and a ``get_keyed_state`` each, cell read or written or not; ``reset``
   then calls each cell's ``finalize`` (a no-op for these cells) and ``get_timer`` encodes the key again for each
   timer parameter.  The replacement commits the same changes in the same order (a cleared cell is cleared, a
   written one replaced, a bag's new values appended, each timer recording cleared/set as Beam does), asks
   ``get_keyed_state`` once per key (in the order Beam first asked it) and passes over the cells and timers a call
   left untouched; in the runner's in-memory keyed state (Beam's ``InMemoryUnmergedState``, no defensive copy) it
   writes the cell's entry as ``clear_state``/``add_state`` would, without their ``isinstance`` chain on an ABC;
   ``get_timer`` reuses the encoded key of ``get_state`` (point 9); a timer set or cleared is written to such a
   state's timer map as ``set_timer``/``clear_timer`` write it.  A cell of another kind than a ReadModifyWrite
   or Bag cell makes the bundle commit through Beam's own code.

If a Beam upgrade changes the evaluator, :func:`reuse_dofns_across_bundles` logs a warning and does nothing.
"""
from __future__ import annotations

import functools
import inspect
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_PATCHED = False
#: Attribute of the runner's EvaluationContext holding its pools: ``{applied transform: [idle DoFn, ...]}``.
_POOLS = "_journeyflow_dofn_pools"
_LOCK = threading.Lock()


def _take(ctx: Any, applied: Any) -> Any:
    """An idle set-up DoFn of ``applied``'s step in ``ctx``'s run, or None."""
    with _LOCK:
        idle = getattr(ctx, _POOLS, {}).get(applied)
        return idle.pop() if idle else None


def _give_back(ctx: Any, applied: Any, dofn: Any) -> None:
    """Put ``dofn`` back into its step's pool (created on first use)."""
    with _LOCK:
        pools = ctx.__dict__.setdefault(_POOLS, {})
        pools.setdefault(applied, []).append(dofn)


def teardown_pooled(ctx: Any) -> int:
    """Tear down (``DoFn.teardown``) and forget every pooled DoFn of ``ctx``'s run; returns how many.  An error in a
    teardown is logged (as the runner's own teardown failures are) and the others still run."""
    with _LOCK:
        pools = ctx.__dict__.pop(_POOLS, {})
    n = 0
    for idle in pools.values():
        for dofn in idle:
            n += 1
            try:
                dofn.teardown()
            except Exception:  # noqa: BLE001 - one failing teardown must not keep the others from running
                log.exception("teardown of a pooled DoFn failed")
    return n


def _memoize_function_arguments(core: Any) -> None:
    """``core.get_function_arguments`` remembered per (DoFn class, method name, method) where that is what it
    inspects (module docstring): a method replaced on the class is a new entry; a method or ``_inspect_<method>``
    set on the instance, or a class with its own ``_inspect_<method>``, is inspected every time, as before.  Fresh
    lists are returned each time, as the original does."""
    original = core.get_function_arguments
    cache: dict[tuple[type, str, Any], tuple[list, list] | None] = {}  # None: not remembered (inspected each time)

    def get_function_arguments(obj: Any, func: str) -> tuple[list, list]:
        own = getattr(obj, "__dict__", None)
        if own and (func in own or "_inspect_%s" % func in own):
            return original(obj, func)
        cls = type(obj)
        key = (cls, func, getattr(cls, func, None))
        hit = cache.get(key, False)
        if hit is False:
            if inspect.isfunction(key[2]) and not hasattr(cls, "_inspect_%s" % func):
                found = original(obj, func)
                hit = (list(found[0]), list(found[1]))
            else:
                hit = None
            with _LOCK:
                cache[key] = hit
        if hit is None:
            return original(obj, func)
        return list(hit[0]), list(hit[1])

    get_function_arguments.original = original  # type: ignore[attr-defined]
    core.get_function_arguments = get_function_arguments


def _encoded_key(ctx: Any, key: Any) -> bytes:
    """``key`` encoded by the user-state context ``ctx``'s key coder, remembered for the last key asked (a bundle
    asks for one key's state cells and timers in a row)."""
    last = ctx.__dict__.get("_jf_last_key")
    if last is not None and last[0] is key:
        return last[1]
    encoded = ctx.key_coder.encode(key)
    ctx._jf_last_key = (key, encoded)
    return encoded


def _faster_commit(du: Any, userstate: Any, cell_classes: tuple[type, type]) -> None:
    """Point 12 of the module docstring on ``du`` (``apache_beam.runners.direct.direct_userstate``); ``cell_classes``:
    the ReadModifyWrite and Bag cells of ``direct_runner_cells`` (committed as Beam's own)."""
    ctx = du.DirectUserStateContext
    original_commit, original_reset, original_timer = ctx.commit, ctx.reset, ctx.get_timer
    rmw, bag = du.ReadModifyWriteRuntimeState, du.BagRuntimeState
    rmws, bags = {rmw, cell_classes[0]}, {bag, cell_classes[1]}
    noop_finalize = userstate.RuntimeState.finalize
    plain = tuple(c for c in (rmw, bag, *cell_classes) if c.finalize is noop_finalize)
    # the runner's in-memory keyed states whose add_state/clear_state are Beam's own (written to directly)
    from apache_beam.runners.direct.evaluation_context import DirectUnmergedState
    from apache_beam.transforms import trigger
    in_memory = tuple(c for c in (trigger.InMemoryUnmergedState, DirectUnmergedState)
                      if c.add_state is trigger.InMemoryUnmergedState.add_state
                      and c.clear_state is trigger.InMemoryUnmergedState.clear_state)
    list_tag, rmw_tag = trigger._ListStateTag, trigger._ReadModifyWriteStateTag
    # (of those, the ones whose set_timer/clear_timer are Beam's own: their timer maps written to directly)
    own_timers = tuple(c for c in in_memory if c.set_timer is trigger.InMemoryUnmergedState.set_timer
                       and c.clear_timer is trigger.InMemoryUnmergedState.clear_timer)

    def commit(self: Any) -> None:
        cells = self.cached_states
        for cell in cells.values():
            if type(cell) not in rmws and type(cell) not in bags:
                return original_commit(self)
        keyed = self.step_context.get_keyed_state
        tags = self.state_tags
        got: dict = {}
        for (encoded_key, window, spec), cell in cells.items():
            state = got.get(encoded_key)
            if state is None:
                state = got[encoded_key] = keyed(encoded_key)
            if type(cell) in bags:
                if not cell._cleared and not cell._new_values:
                    continue
                if type(state) in in_memory and not state.defensive_copy and type(tags[spec]) is list_tag:
                    # what clear_state and add_state do to an in-memory state, without their isinstance chain
                    windows, tag = state.state, tags[spec].tag
                    if cell._cleared:
                        held = windows.get(window)
                        if held is not None:
                            held.pop(tag, None)
                            if not held:
                                del windows[window]
                    if cell._new_values:
                        windows[window][tag].extend(cell._new_values)
                    continue
                if cell._cleared:
                    state.clear_state(window, tags[spec])
                if cell._new_values:
                    tag = tags[spec]
                    for value in cell._new_values:
                        state.add_state(window, tag, value)
            else:
                if cell._cleared:
                    state.clear_state(window, tags[spec])
                if cell._modified:
                    if type(state) in in_memory and not state.defensive_copy and type(tags[spec]) is rmw_tag:
                        held = state.state[window]  # (clear_state, then add_state: the value replaced)
                        held.pop(tags[spec].tag, None)
                        held[tags[spec].tag] = cell._value
                        continue
                    state.clear_state(window, tags[spec])
                    state.add_state(window, tags[spec], cell._value)
        for (encoded_key, window, timer_spec), runtime_timer in self.cached_timers.items():
            state = got.get(encoded_key)
            if state is None:
                state = got[encoded_key] = keyed(encoded_key)
            if not runtime_timer._timer_recordings:
                continue
            name = 'user/%s' % timer_spec.name
            if type(state) in own_timers:  # what clear_timer and set_timer do to an in-memory state's timer map
                timers, domain = state.timers, timer_spec.time_domain
                for tag, timer in runtime_timer._timer_recordings.items():
                    if timer.cleared:
                        held = timers.get(window)
                        if held is not None:
                            held.pop((name, domain, tag), None)
                            if not held:
                                del timers[window]
                    if timer.timestamp:
                        timers[window][(name, domain, tag)] = timer.timestamp
                continue
            for tag, timer in runtime_timer._timer_recordings.items():
                if timer.cleared:
                    state.clear_timer(window, name, timer_spec.time_domain, dynamic_timer_tag=tag)
                if timer.timestamp:
                    state.set_timer(window, name, timer_spec.time_domain, timer.timestamp, dynamic_timer_tag=tag)
        return None

    def reset(self: Any) -> None:
        for cell in self.cached_states.values():
            if type(cell) not in plain:
                cell.finalize()
        self.cached_states = {}
        self.cached_timers = {}

    runtime_timer, new = userstate.RuntimeTimer, object.__new__
    # (a timer is made as its __init__ makes it, without the call, when it sets just these attributes)
    direct = sorted(vars(runtime_timer())) == ["_cleared", "_new_timestamp", "_timer_recordings"]

    def get_timer(self: Any, timer_spec: Any, key: Any, window: Any, timestamp: Any, pane: Any) -> Any:
        last = self.__dict__.get("_jf_last_key")  # (``_encoded_key``, inlined)
        encoded_key = last[1] if last is not None and last[0] is key else _encoded_key(self, key)
        cache_key = (encoded_key, window, timer_spec)
        timer = self.cached_timers.get(cache_key)
        if timer is None:
            if timer_spec not in self.all_timer_specs:
                return original_timer(self, timer_spec, key, window, timestamp, pane)
            if direct:
                timer = new(runtime_timer)
                timer._timer_recordings, timer._cleared, timer._new_timestamp = {}, False, None
            else:
                timer = runtime_timer()
            self.cached_timers[cache_key] = timer
        return timer

    commit.original, reset.original, get_timer.original = (  # type: ignore[attr-defined]
        original_commit, original_reset, original_timer)
    ctx.commit, ctx.reset, ctx.get_timer = commit, reset, get_timer


def reuse_dofns_across_bundles() -> bool:
    """Install fix 7 (module docstring; idempotent); False (with a warning) when Beam's internals changed."""
    global _PATCHED
    if _PATCHED:
        return True
    try:
        from apache_beam.internal import pickler
        from apache_beam.runners.common import DoFnRunner, DoFnState
        from apache_beam.runners.direct import executor as ex
        from apache_beam.runners.direct import transform_evaluator as te
        from apache_beam.runners.direct.direct_userstate import DirectUserStateContext
        from apache_beam.utils import counters
        from apache_beam import coders, pvalue
        from apache_beam.transforms import core, userstate, window
        from apache_beam.utils.windowed_value import WindowedValue
        assert "yield WindowedValue(element, context.timestamp, new_windows)" in inspect.getsource(
            core.WindowInto.WindowIntoFn.process)
        assert "self.runner.process(element)" in inspect.getsource(te._ParDoEvaluator.process_element)
        from apache_beam.runners.direct import direct_userstate as du
        assert "for_spec" in inspect.getsource(du.DirectUserStateContext.get_state)
        commit_src = inspect.getsource(du.DirectUserStateContext.commit)
        assert "runtime_state._new_values" in commit_src and "_timer_recordings" in commit_src
        assert "userstate.RuntimeTimer()" in inspect.getsource(du.DirectUserStateContext.get_timer)
        assert callable(core.get_function_arguments)
        from typing import Any as _Any
        from journeyflow.transforms.decide_streaming import set_timer_input_watermark
        cls = te._ParDoEvaluator
        start_src = inspect.getsource(cls.start_bundle)
        finish_src = inspect.getsource(cls.finish_bundle)
        assert "pickler.roundtrip(transform.dofn)" in start_src and "self.runner.setup()" in start_src
        assert "self.runner.teardown()" in finish_src and "user_state_context.commit()" in finish_src
        timer_src = inspect.getsource(cls.process_timer)
        assert "process_user_timer" in timer_src and "self.key_coder.decode(timer_firing.encoded_key)" in timer_src
        executor_cls = ex._ExecutorServiceParallelExecutor
        original_await, original_shutdown = executor_cls.await_completion, executor_cls.request_shutdown
    except (ImportError, AttributeError, AssertionError, OSError, TypeError):
        log.warning("cannot reuse DoFns across the DirectRunner's bundles (Beam internals changed): each bundle "
                    "unpickles and sets up its DoFn again")
        return False

    def start_bundle(self: Any) -> None:
        # Beam 2.77's _ParDoEvaluator.start_bundle, with the DoFn taken from the step's pool (module docstring)
        transform = self._applied_ptransform.transform
        self._tagged_receivers = te._TaggedReceivers(self._evaluation_context)
        for output_tag in self._applied_ptransform.outputs:
            output_pcollection = pvalue.PCollection(None, tag=output_tag)
            output_pcollection.producer = self._applied_ptransform
            self._tagged_receivers[output_tag] = self._evaluation_context.create_bundle(output_pcollection)
            self._tagged_receivers[output_tag].tag = output_tag
        self._counter_factory = counters.CounterFactory()
        pooled = self._perform_dofn_pickle_test
        dofn = _take(self._evaluation_context, self._applied_ptransform) if pooled else None
        fresh = dofn is None
        if fresh:
            dofn = pickler.roundtrip(transform.dofn) if pooled else transform.dofn
        self._jf_dofn = dofn if pooled else None
        args = transform.args if hasattr(transform, 'args') else []
        kwargs = transform.kwargs if hasattr(transform, 'kwargs') else {}
        self.user_state_context = None
        self.user_timer_map = {}
        if te.is_stateful_dofn(dofn):
            kv_type_hint = self._applied_ptransform.inputs[0].element_type
            if kv_type_hint and kv_type_hint != _Any:
                coder = coders.registry.get_coder(kv_type_hint)
                self.key_coder = coder.key_coder()
            else:
                self.key_coder = coders.registry.get_coder(_Any)
            self.user_state_context = DirectUserStateContext(self._step_context, dofn, self.key_coder)
            _, all_timer_specs = te.get_dofn_specs(dofn)
            for timer_spec in all_timer_specs:
                self.user_timer_map['user/%s' % timer_spec.name] = timer_spec
        self.runner = DoFnRunner(dofn, args, kwargs, self._side_inputs, self._applied_ptransform.inputs[0].windowing,
                                 tagged_receivers=self._tagged_receivers, step_name=self._applied_ptransform.full_label,
                                 state=DoFnState(self._counter_factory), user_state_context=self.user_state_context)
        if fresh:
            self.runner.setup()
        self.runner.start()
        self._jf_to_global = (type(dofn) is core.WindowInto.WindowIntoFn and not args and not kwargs
                              and not self._side_inputs
                              and type(dofn.windowing.windowfn) is window.GlobalWindows)

    def process_element(self: Any, element: Any) -> None:
        # point 10: an element of the global window re-windowed into it is the same windowed value, made directly
        if self._jf_to_global:
            windows = element.windows
            if len(windows) == 1 and type(windows[0]) is window.GlobalWindow:
                self._tagged_receivers[None].receive(
                    WindowedValue(element.value, element.timestamp, [window.GlobalWindow()]))
                return
        self.runner.process(element)

    def finish_bundle(self: Any) -> Any:
        # Beam 2.77's _ParDoEvaluator.finish_bundle; a pooled DoFn goes back to its pool instead of being torn down
        self.runner.finish()
        dofn = getattr(self, "_jf_dofn", None)
        if dofn is None:
            self.runner.teardown()
        # output bundles without elements are not handed on (no consumer is started for nothing; point 8)
        bundles = [b for b in self._tagged_receivers.values() if b.has_elements()]
        result_counters = self._counter_factory.get_counters()
        if self.user_state_context:
            self.user_state_context.commit()
            self.user_state_context.reset()
        if dofn is not None:
            _give_back(self._evaluation_context, self._applied_ptransform, dofn)
        return te.TransformResult(self, bundles, [], result_counters, None)

    def await_completion(self: Any) -> Any:
        try:
            return original_await(self)
        finally:
            teardown_pooled(self.evaluation_context)

    def request_shutdown(self: Any) -> Any:
        try:
            return original_shutdown(self)
        finally:
            teardown_pooled(self.evaluation_context)

    original_timer = cls.process_timer

    def process_timer(self: Any, timer_firing: Any) -> Any:
        # point 11: the step's input watermark is known to the DoFn's timer callback for the firing's duration
        set_timer_input_watermark(self._execution_context.watermarks.input_watermark.micros // 1000)
        try:
            spec, ctx = self.user_timer_map.get(timer_firing.name), self.user_state_context
            if spec is None or ctx is None:
                return original_timer(self, timer_firing)
            # Beam 2.77's process_timer; a str key's encoding is the firing's (FastPrimitivesCoder and StrUtf8Coder
            # write a str one way): the cell look-ups take it instead of encoding the key again (point 9)
            key = self.key_coder.decode(timer_firing.encoded_key)
            if type(key) is str and ctx.key_coder is self.key_coder:
                ctx._jf_last_key = (key, timer_firing.encoded_key)
            return self.runner.process_user_timer(spec, key, timer_firing.window, timer_firing.timestamp, None,
                                                  timer_firing.dynamic_timer_tag)
        finally:
            set_timer_input_watermark(None)

    _memoize_function_arguments(core)
    from journeyflow.tools.direct_runner_cells import faster_state_lookup
    _faster_commit(du, userstate, faster_state_lookup(du, userstate))
    start_bundle.original = cls.start_bundle  # type: ignore[attr-defined]
    finish_bundle.original = cls.finish_bundle  # type: ignore[attr-defined]
    process_element.original = cls.process_element  # type: ignore[attr-defined]
    process_timer.original = original_timer  # type: ignore[attr-defined]
    cls.start_bundle, cls.finish_bundle, cls.process_element = start_bundle, finish_bundle, process_element
    cls.process_timer = process_timer
    executor_cls.await_completion, executor_cls.request_shutdown = await_completion, request_shutdown
    _PATCHED = True
    return True
