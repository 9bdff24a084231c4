"""journeyflow's pipeline options (``--help`` lists them with Beam's own)."""
from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions


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
