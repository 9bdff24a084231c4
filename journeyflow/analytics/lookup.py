"""Find a customer in a replay's output by any of their identifiers: a customer id or identifier key
(``crm:…``, ``email:<hash>``, ``phone:<hash>``, ``anon:…``; the kind in any case, ``CRM:C1``), or a raw email
address or phone number in any of the spellings the pipeline reads (case, surrounding spaces, ``mailto:``,
``Name <addr>``, a plus-address when the replay ran with ``--merge_plus_addresses``, ``tel:``, national numbers of
the replay's ``--default_region``), also written as a key (``email:ann@x.com``, ``phone:+1 415 …``).

Raw emails and phones are normalized and hashed exactly as the replay did: :class:`Hasher` from
``JOURNEYFLOW_HASH_KEY`` (:meth:`Hasher.from_env`) with the replay's ``default_region`` and
``merge_plus_addresses`` read from its ``run.json`` (options given here win).  The tables only hold the hashes, so
the key must be the one the replay used.  The identifier is then looked up in the snapshots (the customer it was
finally merged into), else in ``identity_links`` (the cluster it was linked into), else as a ``customer_id`` of
the tables (a customer seen with one identifier only).  Error messages never repeat the raw value (it may be
PII)."""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

import pyarrow as pa

from journeyflow.config.errors import UserError
from journeyflow.stages.identity.keys import EMAIL, KINDS, PHONE, Hasher, InvalidIdentifier

__all__ = ["CustomerNotFound", "identifier_key", "find_customer", "replay_hasher"]

#: The hashed part of an ``email:`` / ``phone:`` key (``Hasher.digest``: 32 hex characters).
_DIGEST = re.compile(r"[0-9a-f]{32}")


class CustomerNotFound(UserError):
    """No customer in the output has the identifier looked up."""


def identifier_key(value: str, hasher: Hasher | None = None, default_region: str = "US") -> str:
    """The identifier key of ``value``: itself when it already is one (``crm:C1``; the kind is case-insensitive),
    else the hashed key of an email (contains ``@``) or of a phone number (parsed with the hasher's region, or
    ``default_region`` when no hasher is given, when it has no ``+country`` code).  ``email:`` / ``phone:``
    followed by a raw address or number (not a 32-hex digest) is that address or number, hashed.
    :class:`~journeyflow.config.errors.UserError` when it is none of these."""
    v = value.strip()
    kind, sep, rest = v.partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if sep and kind in KINDS and rest:
        if kind not in (EMAIL, PHONE) or _DIGEST.fullmatch(rest):
            return f"{kind}:{rest}"
        v = rest  # a raw address or number written as a key: hashed below
    hasher = hasher or Hasher.from_env(default_region)
    try:
        # an at-sign typed full-width or small (＠, ﹫: East Asian input methods) is one too, as the parsers read it
        return hasher.email(v)[0] if ("@" in v or "＠" in v or "﹫" in v) else hasher.phone(v)[0]
    except InvalidIdentifier as e:
        hint = (f" (a CRM id is written with its kind: crm:{v})" if "@" not in v and v.isalnum()
                and any(c.isalpha() for c in v) else "")  # (a bare id like C55391637 was read as a phone)
        raise UserError(f"the customer to look up is not an id (crm:…, email:…, phone:…, anon:…), an email or a "
                        f"phone number: {e.reason}{hint}") from None


def replay_hasher(out_dir: str | os.PathLike[str] | None, default_region: str | None = None) -> Hasher:
    """The :class:`Hasher` the replay of ``out_dir`` hashed with: key from ``JOURNEYFLOW_HASH_KEY``, its
    ``--default_region`` and ``--merge_plus_addresses`` from ``OUT/run.json`` (``default_region`` given here wins;
    without a manifest: ``US`` and plus-addresses kept apart, the pipeline's defaults)."""
    options: dict[str, Any] = {}
    if out_dir is not None:
        from journeyflow.pipelines.output import read_manifest
        options = (read_manifest(out_dir) or {}).get("options") or {}
    region = default_region or options.get("default_region") or "US"
    return Hasher.from_env(region, merge_plus_addresses=bool(options.get("merge_plus_addresses")))


def find_customer(out_dir: str | os.PathLike[str] | None, value: str, hasher: Hasher | None = None,
                  tables: Mapping[str, pa.Table] | None = None, default_region: str | None = None) -> str:
    """The ``customer_id`` under which the replay output ``out_dir`` (or the given ``tables``) holds the customer
    with identifier ``value`` (see :func:`identifier_key`) *after identity merges*: the customer whose snapshot lists
    the identifier (or, failing that, the cluster of its latest accepted link, or the identifier itself when a
    table holds rows under it), mapped through the snapshots' identifiers to the customer it was finally merged
    into (the ``id_map`` of the example queries).  A snapshot that lists the identifier decides, also when it is the
    identifier's own (a link of the input that this output did not apply, e.g. one after ``--until``, does not move
    it).  ``hasher``: default :func:`replay_hasher` (``default_region`` overrides the replay's region).
    :class:`CustomerNotFound` when there is none."""
    from journeyflow.analytics.outcome_queries import ID_MAP
    from journeyflow.analytics.query import connect
    hasher = hasher or replay_hasher(out_dir, default_region)
    key = identifier_key(value, hasher)
    con = connect(out_dir, tables)
    try:
        views = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}

        def mapped(cid: str) -> str | None:
            if "customer_snapshots" not in views:
                return None
            row = con.execute(f"WITH {ID_MAP} SELECT final_id FROM id_map WHERE id = $k", {"k": cid}).fetchone()
            return row[0] if row else None

        def final(cid: str) -> str:
            return mapped(cid) or cid

        found = mapped(key)
        if found is not None:
            return found
        if "identity_links" in views:
            row = con.execute("SELECT customer_id FROM identity_links WHERE status = 'accepted' "
                              "AND (identifier_a = $k OR identifier_b = $k) ORDER BY ts DESC LIMIT 1",
                              {"k": key}).fetchone()
            if row:
                return final(row[0])
        for table in ("customer_snapshots", "decisions", "journey_steps", "suppressed_candidates"):
            if table in views and con.execute(f"SELECT 1 FROM {table} WHERE customer_id = $k LIMIT 1",
                                              {"k": key}).fetchone():
                return key
    finally:
        con.close()
    shown = key if key.split(":", 1)[0] in ("crm", "anon") or key == value.strip() else f"{key.split(':')[0]} (hashed)"
    hashed_here = key.split(":", 1)[0] in (EMAIL, PHONE) and key != value.strip()
    if hashed_here and out_dir is not None:  # a raw email or phone, hashed here: with the replay's key?
        from journeyflow.pipelines.output import key_check, read_manifest
        recorded = (read_manifest(out_dir) or {}).get("hash_key_check")
        if recorded and recorded != key_check(hasher):
            raise CustomerNotFound(f"no customer with identifier {shown} in {out_dir}: JOURNEYFLOW_HASH_KEY is not "
                                   f"the key this replay hashed with, so emails and phones cannot be matched (set "
                                   f"the replay's key, or look the customer up by id)")
    raise CustomerNotFound(f"no customer with identifier {shown} in {out_dir or 'the tables'}")
