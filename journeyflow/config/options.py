"""journeyflow's own pipeline options, declared once without importing Beam.

:class:`journeyflow.pipelines.options.JourneyflowOptions` registers every one of them with Beam (so ``PipelineOptions``
parses them, and the Flex Template metadata declares the same names); the ``replay`` and ``stream`` commands add
the ones their pipeline reads to their own parser (:func:`add_pipeline_options`), so ``--help`` lists them with
their help text and default.  Flag style: Beam's, ``--lower_case_with_underscores``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

REPLAY, STREAM = "replay", "stream"
#: Default ``--max_event_time``: event times more than a day ahead of the clock are out of range (clock skew between
#: producers is seconds; a record dated next year is a bug, and would otherwise move every customer's horizon).
DEFAULT_MAX_EVENT_TIME = "now+1d"


def parse_flag(text: str | bool) -> bool:
    """``--resume``, ``--resume=true`` (how a Flex Template passes it) or ``--resume=false``."""
    v = str(text).strip().lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, not {text!r}")


@dataclass(frozen=True)
class OptionSpec:
    """One pipeline option: its flag, ``add_argument`` keyword arguments and the pipelines that read it (empty: it
    is registered with Beam only, not offered by the command line)."""

    flag: str
    kwargs: dict[str, Any]
    pipelines: tuple[str, ...] = (REPLAY, STREAM)


#: Every journeyflow pipeline option (group "journeyflow"); durations are strings such as ``30s``, times ISO-8601 or
#: epoch ms.
OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("--input", dict(help="Directory with <stream>.jsonl / <stream>.avro files (local or gs://)."),
               (REPLAY,)),
    OptionSpec("--output", dict(help="Output directory for topics/ and tables/ (local or gs://)."), (REPLAY,)),
    OptionSpec("--journeys", dict(default=None, help="Journey definitions (YAML). Default: the shipped set.")),
    OptionSpec("--policy", dict(default=None, help="Arbitration policy (YAML). Default: the shipped policy.")),
    OptionSpec("--link_rules", dict(default=None, help="Identity link rules (YAML). Default: the shipped rules.")),
    OptionSpec("--segment_mapping", dict(default=None, help="Mapping of Segment-Spec events (the track stream) onto "
                                                            "the built-in streams (YAML). Default: the shipped "
                                                            "mapping (Product Added -> web add_to_cart, ...).")),
    OptionSpec("--attributes", dict(default=None, help="Declared events, traits and computed attributes (YAML; "
                                                       "see examples/). Default: none (built-in fields only).")),
    OptionSpec("--default_region", dict(default="US", help="Region used to parse phone numbers written without a "
                                                           "+country code.")),
    OptionSpec("--until", dict(default=None,
                               help="Replay horizon (an ISO-8601 date-time with a UTC offset, 2026-10-05T00:00:00Z, or epoch ms): timers due later do not fire and events "
                                    "dated later are dead letters (timestamp_out_of_range), not decided. 'end' "
                                    "fires every pending timer. Default: the latest event time in the input."),
               (REPLAY,)),
    OptionSpec("--buckets", dict(type=int, default=None,
                                 help="Local bounded replay: fold the input in this many hash buckets of the "
                                      "identity cluster, one after the other, so peak memory does not grow with "
                                      "the population (1: one pipeline). Default: one bucket per 100,000 input "
                                      "records. Ignored on Dataflow (its shuffle spills)."),
               (REPLAY,)),
    OptionSpec("--max_event_time", dict(default=DEFAULT_MAX_EVENT_TIME,
                                        help="Latest accepted event time; later records are dead letters "
                                             "(timestamp_out_of_range) and never move the replay horizon. "
                                             "now+DURATION (relative to the wall clock at launch in replay, to each "
                                             "message's publish time in streaming), an ISO-8601 time / epoch ms, or "
                                             "none (year 2100).")),
    OptionSpec("--merge_plus_addresses", dict(nargs="?", const=True, default=False, type=parse_flag,
                                              metavar="true|false",
                                              help="Hash ann+tag@example.com as ann@example.com (plus-addresses "
                                                   "stay distinct by default).")),
    OptionSpec("--identity_store", dict(default="sqlite://.journeyflow/identity.db",
                                        help="Identity graph store: sqlite://REL/PATH or sqlite:///ABS/PATH "
                                             "(embedded), memory://, or bigtable://PROJECT/INSTANCE/TABLE."),
               (STREAM,)),
    OptionSpec("--allowed_lateness", dict(default="0s",
                                          help="How long past the watermark a customer's events are held before "
                                               "being processed in event-time order; later events go to dead "
                                               "letter (e.g. 30s, 5m)."), (STREAM,)),
    OptionSpec("--resume", dict(nargs="?", const=True, default=None, type=parse_flag, metavar="true|false",
                                help="Rebuild on start (the default on the local runner): rewind the input "
                                     "subscriptions to their oldest retained message and replay them (state and a "
                                     "local identity store are rebuilt; re-emitted decisions keep their ids), purge "
                                     "in-flight state transfers. --resume=false starts from the subscriptions' "
                                     "current position with empty state: what a stopped local pipeline had read "
                                     "but not decided is lost. See README, 'Restarts'."), (STREAM,)),
    OptionSpec("--catch_up", dict(default="30s",
                                  help="With --resume: how long after the start the replayed backlog is buffered "
                                       "before customers are processed (must cover reading the retained input)."),
               (STREAM,)),
    # Deprecated (one release): the command line says --project (Beam's); kept for the Flex Template parameter.
    OptionSpec("--project_id", dict(default=None, help="Deprecated, use --project: GCP project of the Pub/Sub "
                                                       "topics (default: the job's project)."), ()),
    OptionSpec("--topic_prefix", dict(default="", help="Prefix of every topic and subscription name."), (STREAM,)),
    OptionSpec("--tables", dict(default=None, help="BigQuery dataset PROJECT:DATASET for the analyst tables "
                                                   "(omit to write no tables in streaming)."), (STREAM,)),
)


def add_pipeline_options(parser: Any, pipeline: str | None = None, title: str = "journeyflow") -> None:
    """Adds the options of :data:`OPTIONS` to ``parser`` as one argument group: every one (``pipeline`` None, for
    Beam's parser) or those read by ``pipeline`` (``"replay"`` or ``"stream"``, for the command line)."""
    g = parser.add_argument_group(title)
    for spec in OPTIONS:
        if pipeline is None or pipeline in spec.pipelines:
            g.add_argument(spec.flag, **spec.kwargs)


def to_argv(ns: argparse.Namespace, pipeline: str) -> list[str]:
    """The pipeline options of ``pipeline`` set in ``ns`` (to a value other than their default) as ``--name=value``
    arguments for Beam."""
    out: list[str] = []
    for spec in OPTIONS:
        if pipeline not in spec.pipelines:
            continue
        name = spec.flag.lstrip("-")
        value = getattr(ns, name, None)
        if value is None or value == spec.kwargs.get("default"):
            continue
        # (one ``--name=value`` argument: a value starting with "-" is not read as a flag by Beam's parser)
        out.append(f"{spec.flag}={str(value).lower() if isinstance(value, bool) else value}")
    return out
