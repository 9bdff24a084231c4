"""qa9b: the replay's progress total counts records as the replay's reader splits them.

``count_input_records`` counted LF bytes: a CR-only file (read as records since an earlier fix) was one record,
blank lines counted, a Segment batch envelope counted once whatever it held, Avro files not at all -- the progress
line ("N input records") disagreed with ``records read``.  Now it is the reader's own split."""
from __future__ import annotations

import json
import os

import fastavro

from journeyflow.cli.progress import count_input_records
from journeyflow.stages.parse import avro_schema
from journeyflow.transforms.sources import _ReadFileFn, replay_files
from tests.stages.test_input_edge_cases import GOOD


def records_read(input_dir):
    fn = _ReadFileFn()
    return sum(1 for sp in replay_files(str(input_dir)) for _ in fn._records(sp))


def lines(stream, n):
    return [json.dumps({**GOOD[stream], ("messageId" if stream == "track" else "event_id"): f"{stream}{i}"})
            for i in range(n)]


def test_every_line_end_blank_lines_batches_and_avro_count_as_the_reader_reads_them(tmp_path):
    (tmp_path / "crm.jsonl").write_bytes("\r".join(lines("crm", 4)).encode() + b"\r")  # CR only: 4
    (tmp_path / "web.jsonl").write_bytes(("\r\n\r\n".join(lines("web", 3)) + "\r\n\r\n").encode())  # CRLF, blanks: 3
    t = lines("track", 3)
    batch = json.dumps({"batch": [json.loads(x) for x in t[:2]]})
    (tmp_path / "track.jsonl").write_text(
        f"{batch}\n\n{t[2]}\n" + '{"batch": []}\n' + json.dumps([json.loads(t[0]), 5]) + "\n   \n")  # 2+1+1+2
    (tmp_path / "consent.jsonl").write_bytes(b"\xef\xbb\xbf" + "\n".join(lines("consent", 2)).encode())  # BOM, no LF
    with open(tmp_path / "orders.avro", "wb") as f:
        fastavro.writer(f, avro_schema("orders"), [
            {**GOOD["orders"], "event_id": f"o{i}", "email": None, "product_ids": [], "amount": None,
             "currency": None} for i in range(5)])
    got, size = count_input_records(str(tmp_path))
    assert got == records_read(tmp_path) == 4 + 3 + 6 + 2 + 5
    assert size == sum(os.path.getsize(p) for _s, p in replay_files(str(tmp_path)))


def test_a_cr_only_file_alone(tmp_path):
    (tmp_path / "engagement.jsonl").write_bytes("\r".join(lines("engagement", 7)).encode())
    assert count_input_records(str(tmp_path))[0] == records_read(tmp_path) == 7
