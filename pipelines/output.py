"""The replay's output folder: refuse to mix runs, write beside it, move into place; and the run manifest.

A replay writes ``topics/`` and ``tables/`` (its *own entries*, :data:`OWN_ENTRIES`, with the manifest
:data:`MANIFEST`).  Re-running into a folder that already holds output would mix old date partitions into the tables,
so :func:`prepare_output` refuses a non-empty local folder unless ``overwrite`` is given; with it, only the replay's
own entries are replaced (a ``report.html``, ``compare.json`` or anything else there is left alone).

The pipeline writes into a staging folder beside the target (``<parent>/.<name>.replay-XXXXXXXX``, same filesystem,
so moves are renames); :meth:`StagedOutput.publish` moves the entries into place only after the pipeline finished.
An interrupted or failed run (:meth:`StagedOutput.discard`, or a killed process) never leaves half an output in the
target: at worst a hidden staging folder beside it.  Remote outputs (``gs://`` and other ``scheme://`` paths, written
by Dataflow) are written in place, without the check.

The manifest (``OUT/run.json``, :func:`write_manifest`) says what the run read: the input files (size, sha256), the
journeys / policy / link-rules / attributes / Segment-mapping texts the run used (source path, or ``<default NAME>`` for a shipped file, and the
sha256 of the text), the journeys' steps in the order the file declares them (for the report), the options that
shape the output, the accepted events' time range and a fingerprint of the hashing key (:func:`key_check`).  It is a new file next to ``topics/`` and ``tables/``: their bytes do not change.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeyflow.config.errors import UserError

#: Set by the command line's Ctrl-C handler (``journeyflow.cli``): a replay interrupted at any moment is not
#: published, even when the ``KeyboardInterrupt`` was swallowed where it landed (a finalizer, a library's
#: ``except BaseException``) and the pipeline ran on to the end.
INTERRUPTED = threading.Event()

__all__ = ["KEY_CHECK_IDENTIFIER", "MANIFEST", "OWN_ENTRIES", "OutputNotEmptyError", "StagedOutput",
           "journey_summaries", "key_check", "prepare_output", "read_manifest", "write_manifest"]

#: The run manifest's file name, in the output folder.
MANIFEST = "run.json"
#: What a replay writes into its output folder (and ``--overwrite`` replaces).
OWN_ENTRIES: tuple[str, ...] = ("topics", "tables", MANIFEST)


class OutputNotEmptyError(UserError):
    """The replay's output folder is not empty and ``--overwrite`` was not given."""


def is_remote(path: str) -> bool:
    """``gs://...`` and other ``scheme://`` paths (written by the pipeline in place)."""
    return "://" in path


@dataclass
class StagedOutput:
    """A replay's staging folder (``staging``, where the pipeline writes) and its target folder."""

    target: Path
    staging: Path
    overwrite: bool

    def publish(self) -> None:
        """Move the staged entries into ``target`` (created if needed).  An empty or missing target is replaced by
        the staging folder in one rename; otherwise (``overwrite``) the target's own entries are moved aside first,
        the new ones moved in, then the old ones deleted.  Raises ``KeyboardInterrupt`` instead when Ctrl-C was
        pressed during the run (:data:`INTERRUPTED`): the caller discards the staging folder."""
        if INTERRUPTED.is_set():
            raise KeyboardInterrupt
        if not self.target.exists() or (self.target.is_dir() and not any(self.target.iterdir())):
            if self.target.exists():
                self.target.rmdir()
            os.replace(self.staging, self.target)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old-", dir=self.target.parent))
        try:
            for name in OWN_ENTRIES:
                if (self.target / name).exists() or (self.target / name).is_symlink():
                    os.replace(self.target / name, old / name)
            for entry in sorted(self.staging.iterdir()):
                os.replace(entry, self.target / entry.name)
            self.staging.rmdir()
        finally:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove the staging folder (an interrupted or failed run)."""
        shutil.rmtree(self.staging, ignore_errors=True)


def prepare_output(output: str, overwrite: bool = False) -> StagedOutput | None:
    """Check the local output folder ``output`` and create its staging folder beside it; None for a remote output.

    Raises :class:`OutputNotEmptyError` when ``output`` holds anything and ``overwrite`` is false, ``UserError`` when
    it is a file."""
    if is_remote(output):
        return None
    target = Path(output).absolute()
    if target.exists() and not target.is_dir():
        raise UserError(f"--output {output} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputNotEmptyError(
            f"--output {output} is not empty: a replay into it would mix its old outputs with the new ones. Give "
            f"another folder, or --overwrite to replace {', '.join(OWN_ENTRIES)} there (nothing else is touched).")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.replay-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp's 0700 would become the target's mode
    return StagedOutput(target, staging, overwrite)


# ================================================================================================ manifest
def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _config_file(text: str | None, source: str) -> dict[str, Any]:
    """``{"source", "sha256"}`` of a configuration text as the run used it (``source``: its path, or
    ``<default NAME>`` for the shipped file); a missing text (the built-in link rules) has no digest."""
    return {"source": source, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None}


def journey_summaries(journeys: Any) -> list[dict[str, Any]]:
    """The manifest's ``journeys``: for each ``Journey`` (in file order) its id, name, category, whether it declares
    a goal, its control group percentage and its steps (``{"id", "kind", "channel"}``) in file order."""
    out = []
    for j in journeys:
        out.append({"id": j.id, "name": j.name, "category": j.category, "has_goal": bool(j.goal),
                    "control_group_pct": j.control_group_pct,
                    "steps": [{"id": s.id, "kind": s.kind, "channel": getattr(s, "channel", None)} for s in j.steps]})
    return out


#: The identifier hashed for :func:`key_check` (never a real address).
KEY_CHECK_IDENTIFIER = "key-check@journeyflow.example"


def key_check(hasher: Any = None) -> str:
    """A fingerprint of the identifier-hashing key (``JOURNEYFLOW_HASH_KEY``, or ``hasher``'s): the first 16 hex
    digits of the HMAC of :data:`KEY_CHECK_IDENTIFIER`, as the pipeline hashes an email.  Stored in ``run.json`` so
    that a lookup by email or phone (``journeyflow query --customer``) can tell "no such customer" from "hashed with
    another key"; it does not reveal the key (an HMAC of a public value)."""
    if hasher is None:
        from journeyflow.stages.identity.keys import Hasher
        hasher = Hasher.from_env()
    return hasher.email(KEY_CHECK_IDENTIFIER)[0].split(":", 1)[1][:16]


def write_manifest(out_dir: str | os.PathLike[str], *, input_dir: str, files: list[tuple[str, str]], config: Any,
                   options: dict[str, Any], event_times: dict[str, Any], summary: dict[str, Any],
                   parse_config: Any = None) -> Path:
    """Write ``out_dir/run.json`` (see the module docstring) and return its path.  ``files``: the input files read,
    as ``(stream, path)``; ``config``: the run's ``EngineConfig`` (journeys, policy, link rules, attributes file);
    ``parse_config``: its ``ParseConfig`` (the Segment mapping; None: not recorded); ``event_times``: ``{"min", "max", "count"}`` of
    the accepted events (epoch ms); ``summary``: counts of the run."""
    doc = {
        "manifest_version": 1,
        "input": {"dir": input_dir,
                  "files": [{"stream": s, "name": os.path.basename(p), "bytes": os.path.getsize(p),
                             "sha256": _sha256(Path(p))} for s, p in files if not is_remote(p)],
                  "event_times": event_times},
        "config": {"journeys": _config_file(config.journeys_yaml, config.journeys_source),
                   "policy": _config_file(config.policy_yaml, config.policy_source),
                   "link_rules": _config_file(config.link_rules_yaml, config.link_rules_source),
                   "attributes": _config_file(config.attributes_yaml, config.attributes_source)},
        "journeys": journey_summaries(config.journeys()),
        "options": options,
        "summary": summary,
        "hash_key_check": key_check(),
    }
    if parse_config is not None:
        from journeyflow.stages.segment.mapping import default_mapping_text
        text = parse_config.segment_mapping
        doc["config"]["segment_mapping"] = _config_file(default_mapping_text() if text is None else text,
                                                        parse_config.segment_mapping_source)
    path = Path(out_dir) / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``out_dir/run.json`` as a dict, or None when the output has none (written before manifests, or by hand)."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
