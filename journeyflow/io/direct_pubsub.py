"""Local streaming on Beam's BundleBasedDirectRunner: cap the Pub/Sub pull deadline.

The DirectRunner's Pub/Sub reader (``_PubSubReadEvaluator``) pulls with a hard-coded 30 s deadline and moves the
source's watermark to wall-clock time only when a pull returns.  The Pub/Sub emulator (like the service's long
poll) holds a pull on an *empty* subscription open until that deadline (measured here: 29 s), and the runner
evaluates sources one after another, so with one subscription per stream plus the state-transfer subscription
every idle one holds the watermark — and so every event-time timer — back by ~30 s per round.  With a 1 s deadline
an empty pull returns at once (the emulator answers an expired deadline with an empty response).

This only changes the local runner (Dataflow's native source is unaffected) and is applied by
``pipelines.stream.run_stream`` when it runs on a direct runner.  If a Beam upgrade renames the internals, the patch
logs a warning and does nothing.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_PATCHED = False


def cap_direct_runner_pull_timeout(seconds: float = 1.0) -> bool:
    global _PATCHED
    if _PATCHED:
        return True
    try:
        from apache_beam.runners.direct import transform_evaluator as te
        evaluator = te._PubSubReadEvaluator
        original = evaluator._get_subscriber_client.__func__
    except (ImportError, AttributeError):
        log.warning("cannot cap the DirectRunner's Pub/Sub pull deadline (Beam internals changed); idle "
                    "subscriptions will delay the watermark by up to 30 s")
        return False

    class _ShortPull:
        def __init__(self, client):
            self._client = client

        def pull(self, *args, **kwargs):
            kwargs["timeout"] = min(kwargs.get("timeout") or seconds, seconds)
            return self._client.pull(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._client, name)

    def _get_subscriber_client(cls, transform):
        return _ShortPull(original(cls, transform))

    evaluator._get_subscriber_client = classmethod(_get_subscriber_client)
    _PATCHED = True
    return True
