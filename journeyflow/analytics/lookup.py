"""Find a customer in a replay's output by any of their identifiers: a customer id or identifier key
(``crm:…``, ``email:<hash>``, ``phone:<hash>``, ``anon:…``), or a raw email address or phone number.

Raw emails and phones are normalized and hashed exactly as the pipeline does (:class:`Hasher` from
``JOURNEYFLOW_HASH_KEY``, :meth:`Hasher.from_env`): the tables only hold the hashes, so the key must be the one the
replay used.  The identifier is then looked up in ``identity_links`` (the cluster it was linked into), else as a
``customer_id`` of the tables (a customer seen with one identifier only).  Error messages never repeat the raw
value (it may be PII)."""
from __future__ import annotations

import os
from typing import Mapping

import pyarrow as pa

from journeyflow.config.errors import UserError
from journeyflow.stages.identity.keys import KINDS, Hasher, InvalidIdentifier

__all__ = ["CustomerNotFound", "identifier_key", "find_customer"]


class CustomerNotFound(UserError):
    """No customer in the output has the identifier looked up."""


def identifier_key(value: str, hasher: Hasher | None = None, default_region: str = "US") -> str:
    """The identifier key of ``value``: itself when it already is one (``crm:C1``), else the hashed key of an email
    (contains ``@``) or of a phone number (parsed with ``default_region`` when it has no ``+country`` code).
    :class:`~journeyflow.config.errors.UserError` when it is none of these."""
    v = value.strip()
    kind, sep, rest = v.partition(":")
    if sep and kind in KINDS and rest.strip():
        return f"{kind}:{rest.strip()}"
    hasher = hasher or Hasher.from_env(default_region)
    try:
        return hasher.email(v)[0] if "@" in v else hasher.phone(v)[0]
    except InvalidIdentifier as e:
        raise UserError(f"the customer to look up is not an id (crm:…, email:…, phone:…, anon:…), an email or a "
                        f"phone number: {e.reason}") from None


def find_customer(out_dir: str | os.PathLike[str] | None, value: str, hasher: Hasher | None = None,
                  tables: Mapping[str, pa.Table] | None = None, default_region: str = "US") -> str:
    """The ``customer_id`` under which the replay output ``out_dir`` (or the given ``tables``) holds the customer
    with identifier ``value`` (see :func:`identifier_key`) *after identity merges*: the customer whose snapshot lists
    the identifier (or, failing that, the cluster of its latest accepted link, or the identifier itself when a
    table holds rows under it), mapped through the snapshots' identifiers to the customer it was finally merged
    into (the ``id_map`` of the example queries).  :class:`CustomerNotFound` when there is none."""
    from journeyflow.analytics.outcome_queries import ID_MAP
    from journeyflow.analytics.query import connect
    key = identifier_key(value, hasher, default_region)
    con = connect(out_dir, tables)
    try:
        views = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}

        def final(cid: str) -> str:
            if "customer_snapshots" not in views:
                return cid
            row = con.execute(f"WITH {ID_MAP} SELECT final_id FROM id_map WHERE id = $k", {"k": cid}).fetchone()
            return row[0] if row else cid

        found = final(key)
        if found != key:
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
    if key != value.strip() and out_dir is not None:  # a raw email or phone, hashed here: with the replay's key?
        from journeyflow.pipelines.output import key_check, read_manifest
        from journeyflow.stages.identity.keys import Hasher as _Hasher
        recorded = (read_manifest(out_dir) or {}).get("hash_key_check")
        if recorded and recorded != key_check(hasher or _Hasher.from_env(default_region)):
            raise CustomerNotFound(f"no customer with identifier {shown} in {out_dir}: JOURNEYFLOW_HASH_KEY is not "
                                   f"the key this replay hashed with, so emails and phones cannot be matched (set "
                                   f"the replay's key, or look the customer up by id)")
    raise CustomerNotFound(f"no customer with identifier {shown} in {out_dir or 'the tables'}")
