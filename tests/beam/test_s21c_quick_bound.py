"""Session 21 (c): ``records_at_most`` counts CR bytes only in the MiB chunks that hold one (a search first); the
bound is the same number as counting LF and CR bytes in every chunk, plus one per file."""
from __future__ import annotations

import json

from journeyflow.pipelines import replay_buckets as rb


def test_the_bound_is_every_files_line_ends_plus_one_with_cr_bytes_in_any_chunk(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    rec = json.dumps({"event_id": "e", "pad": "x" * 200}).encode()
    mib = 1 << 20
    web = (rec + b"\n") * (mib // len(rec) + 5)  # past the first MiB: LF only
    web += (rec + b"\r\n") * 7 + rec + b"\r" + rec  # CR bytes only in the second MiB chunk
    crm = (rec + b"\r") * 3  # CR only
    orders = (rec + b"\n") * 4  # LF only, one chunk
    for name, data in (("web", web), ("crm", crm), ("orders", orders)):
        (d / f"{name}.jsonl").write_bytes(data)
    expected = sum(data.count(b"\n") + data.count(b"\r") + 1 for data in (web, crm, orders))
    assert rb.records_at_most(str(d)) == expected
    assert expected >= rb.count_records(str(d))
