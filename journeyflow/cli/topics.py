"""``journeyflow topics create|delete``: every Pub/Sub topic and subscription of journeyflow
(:func:`journeyflow.tools.pubsub.create_topics` / :func:`~journeyflow.tools.pubsub.delete_topics`).

Prints the paths created (or found) / deleted and the target (emulator or Google Cloud); exit 0.  No emulator and no
credentials: :class:`~journeyflow.adapters.pubsub_names.PubSubToolError` (exit 2)."""
from __future__ import annotations

import argparse

from journeyflow.cli.common import HelpFormatter, deprecated_alias

HELP = "create or delete the Pub/Sub topics and subscriptions"


def add_target_args(p: argparse.ArgumentParser) -> None:
    """``--project`` (default ``$PUBSUB_PROJECT_ID`` or ``journeyflow-local``) and ``--topic_prefix`` of every id
    (the streaming pipeline's option of the same name; ``--prefix`` is its deprecated spelling); shared by
    ``topics``, ``publish`` and ``consume``."""
    from journeyflow.tools.pubsub import default_project
    p.add_argument("--project", default=default_project(), metavar="P",
                   help="GCP project id (default: $PUBSUB_PROJECT_ID, else %(default)s)")
    p.add_argument("--topic_prefix", dest="prefix", default="", metavar="X",
                   help="prefix of every topic/subscription id, e.g. dev-")
    deprecated_alias(p, "--prefix", "--topic_prefix")
    deprecated_alias(p, "--project_id", "--project")  # the streaming pipeline's old spelling, accepted everywhere


def add_args(p: argparse.ArgumentParser) -> None:
    """Subcommands ``create`` and ``delete``, each with :func:`add_target_args`."""
    sub = p.add_subparsers(dest="topics_cmd", required=True, metavar="{create,delete}")
    kw = {"formatter_class": HelpFormatter, "allow_abbrev": False}
    add_target_args(sub.add_parser("create", help="create every topic and subscription (idempotent)", **kw))
    add_target_args(sub.add_parser("delete", help="delete journeyflow's topics and subscriptions", **kw))


def create(ns: argparse.Namespace) -> int:
    """Create every topic and subscription of ``ns.project`` / ``ns.prefix`` and list them; returns 0."""
    from journeyflow.tools.pubsub import check_access, create_topics
    target = check_access()
    paths = create_topics(ns.project, getattr(ns, "prefix", "") or "")
    topics = [p for p in paths if "/topics/" in p]
    subs = [p for p in paths if "/subscriptions/" in p]
    _print_paths(f"{len(topics)} topics and {len(subs)} subscriptions ready in project {ns.project} ({target}):",
                 paths)
    return 0


def delete(ns: argparse.Namespace) -> int:
    """Delete journeyflow's topics and subscriptions of ``ns.project`` / ``ns.prefix`` and list them; returns 0."""
    from journeyflow.tools.pubsub import check_access, delete_topics
    target = check_access()
    deleted = delete_topics(ns.project, getattr(ns, "prefix", "") or "")
    _print_paths(f"deleted {len(deleted)} topics/subscriptions in project {ns.project} ({target})", deleted)
    return 0


def _print_paths(title: str, paths: list[str]) -> None:
    print(title)
    for p in paths:
        print(f"  {p}")


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Dispatch to :func:`create` or :func:`delete`."""
    return create(ns) if ns.topics_cmd == "create" else delete(ns)
