"""journeyflow's pipeline options (``--help`` lists them with Beam's own)."""
from __future__ import annotations

import re
from typing import NamedTuple

from apache_beam.options.pipeline_options import PipelineOptions

from journeyflow.config.durations import parse_duration

#: Default ``--max_event_time``: event times more than a day ahead of the clock are out of range (clock skew between
#: producers is seconds; a record dated next year is a bug, and would otherwise move every customer's horizon).
DEFAULT_MAX_EVENT_TIME = "now+1d"
_RELATIVE_RE = re.compile(r"now(?:\s*\+(.*))?", re.DOTALL)


class EventTimeBound(NamedTuple):
    """The latest accepted event time: an absolute time (``at``, epoch ms) or ``ahead_ms`` past a clock."""

    at: int | None = None
    ahead_ms: int | None = None

    def absolute(self, now_ms: int) -> int:
        """The bound in epoch ms for a clock reading ``now_ms`` (ignored for an absolute bound)."""
        return self.at if self.at is not None else now_ms + (self.ahead_ms or 0)


def resolve_max_event_time(text: str | None) -> EventTimeBound:
    """Parse ``--max_event_time``: ``now+DURATION`` (``now+1d``, ``now+36h``, ``now``: relative to the wall clock
    -- in replay read once at launch, in streaming the record's Pub/Sub publish time; the duration syntax is
    :mod:`journeyflow.config.durations`'), an absolute time (ISO-8601 with offset or epoch ms), or ``none`` (only
    the parser's absurd-time bound, year 2100).  ``None`` means the default, :data:`DEFAULT_MAX_EVENT_TIME`.
    A relative bound stays relative until :meth:`EventTimeBound.absolute` is given a clock.  Raises ValueError for
    anything else."""
    from journeyflow.stages.parse import DEFAULT_MAX_TS, parse_ts

    t = (DEFAULT_MAX_EVENT_TIME if text is None else str(text)).strip()
    if t.lower() == "none":
        return EventTimeBound(at=DEFAULT_MAX_TS)
    try:
        m = _RELATIVE_RE.fullmatch(t.lower())
        if m:
            return EventTimeBound(ahead_ms=0 if m.group(1) is None else parse_duration(m.group(1), allow_zero=True))
        return EventTimeBound(at=parse_ts(t))
    except (ValueError, OverflowError) as e:
        raise ValueError(f"--max_event_time {text!r}: use now+DURATION (e.g. now+1d), an ISO-8601 time with "
                         f"offset, epoch ms, or none ({e})") from None


def _flag(text: str) -> bool:
    """``--resume``, ``--resume=true`` (how a Flex Template passes it) or ``--resume=false``."""
    v = str(text).strip().lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, not {text!r}")


class JourneyflowOptions(PipelineOptions):
    """journeyflow's options for both pipelines (group "journeyflow"); durations are strings such as ``30s``, times
    ISO-8601 or epoch ms.  ``deploy/dataflow/metadata.json`` declares the same names (checked by a test)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        g = parser.add_argument_group("journeyflow")
        g.add_argument("--input", help="Replay: directory with <stream>.jsonl / <stream>.avro files (local or gs://).")
        g.add_argument("--output", help="Replay: output directory for topics/ and tables/ (local or gs://).")
        g.add_argument("--journeys", default=None, help="Journey definitions (YAML). Default: the shipped set.")
        g.add_argument("--policy", default=None, help="Arbitration policy (YAML). Default: the shipped policy.")
        g.add_argument("--link_rules", default=None, help="Identity link rules (YAML). Default: shipped rules.")
        g.add_argument("--identity_store", default="sqlite://.journeyflow/identity.db",
                       help="Streaming identity graph store: sqlite://REL/PATH or sqlite:///ABS/PATH (embedded), memory://, "
                            "or bigtable://PROJECT/INSTANCE/TABLE.")
        g.add_argument("--default_region", default="US",
                       help="Region used to parse phone numbers written without a +country code.")
        g.add_argument("--until", default=None,
                       help="Replay horizon (ISO-8601 or epoch ms): timers due later do not fire. "
                            "Default: the latest event time in the input. 'end' fires every pending timer.")
        g.add_argument("--max_event_time", default=DEFAULT_MAX_EVENT_TIME,
                       help="Latest accepted event time; later records are dead letters (timestamp_out_of_range) "
                            "and never move the replay horizon. now+DURATION (relative to the wall clock at launch "
                            "in replay, to each message's publish time in streaming), an ISO-8601 time / epoch ms, "
                            f"or none (year 2100). Default: {DEFAULT_MAX_EVENT_TIME}.")
        g.add_argument("--merge_plus_addresses", nargs="?", const=True, default=False, type=_flag,
                       metavar="true|false",
                       help="Hash ann+tag@example.com as ann@example.com (default: plus-addresses stay distinct).")
        g.add_argument("--allowed_lateness", default="0s",
                       help="Streaming: how long past the watermark a customer's events are held before being "
                            "processed in event-time order; later events go to dead letter (e.g. 30s, 5m).")
        g.add_argument("--resume", nargs="?", const=True, default=False, type=_flag, metavar="true|false",
                       help="Streaming: restart after a stop. Rewinds the input subscriptions to their oldest "
                            "retained message and replays them (state is rebuilt; re-emitted decisions keep their "
                            "ids), purges in-flight state transfers. See README, 'Restarts'.")
        g.add_argument("--catch_up", default="30s",
                       help="Streaming with --resume: how long after the start the replayed backlog is buffered "
                            "before customers are processed (must cover reading the retained input).")
        g.add_argument("--project_id", default=None, help="Streaming: GCP project of the Pub/Sub topics.")
        g.add_argument("--topic_prefix", default="", help="Prefix of every topic and subscription name.")
        g.add_argument("--tables", default=None,
                       help="Streaming/Dataflow: BigQuery dataset PROJECT:DATASET for the analyst tables "
                            "(omit to skip tables in streaming).")
