"""qa11c: JSONL files as tools really write them.

* NDJSON with a comma after each record (a JSON array's items copied line by line, ``jq -c '.[]'`` forgotten,
  hand-made exports): every record was an ``invalid_json`` dead letter ("Extra data").  No JSON text ends in a comma,
  so one trailing comma is dropped; the lines ``[`` and ``]`` of such a file frame the records and hold none: they are
  skipped like blank lines (each was an ``invalid_json`` dead letter that was no record).
* UTF-16 files with a byte order mark (Windows PowerShell 5's ``>`` and ``Out-File``, Excel's "Unicode text"): every
  line was ``invalid_utf8``.  They are read as the text they are (RFC 8259 §8.1 requires UTF-8 between systems; the
  BOM says unambiguously what the file is).
The replay's reader, the progress count and the publisher share :func:`journeyflow.stages.json_text.jsonl_lines`."""
from __future__ import annotations

import io
import json

import pytest

from journeyflow.cli.progress import count_file_records
from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.parse_lines import jsonl_records, parse_records
from tests.stages.test_input_edge_cases import GOOD, HASHER


def records(stream: str, n: int = 3) -> list[str]:
    id_field = "messageId" if stream == "track" else "event_id"
    return [json.dumps({**GOOD[stream], id_field: f"r{i}"}) for i in range(n)]


def read(data: bytes, stream: str, tmp_path) -> tuple[list, list, int]:
    recs = list(jsonl_records(io.BytesIO(data), "f.jsonl", stream))
    events, dead, _w = parse_records(Parser(HASHER), stream, [r for r, _s in recs], [s for _r, s in recs])
    path = tmp_path / f"{stream}.jsonl"
    path.write_bytes(data)
    assert count_file_records(str(path), stream) == len(recs)  # progress counts what the reader reads
    return events, dead, len(recs)


@pytest.mark.parametrize("stream", sorted(GOOD))
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_records_with_a_trailing_comma_are_read(stream, end, tmp_path):
    data = "".join(r + "," + end for r in records(stream)).encode()
    events, dead, n = read(data, stream, tmp_path)
    assert (len(events), dead, n) == (3, [], 3)


@pytest.mark.parametrize("stream", sorted(GOOD))
def test_a_json_array_written_one_record_a_line_is_its_records(stream, tmp_path):
    data = ("[\n" + ",\n".join(records(stream)) + "\n]\n").encode()
    events, dead, n = read(data, stream, tmp_path)
    assert (len(events), dead, n) == (3, [], 3)
    assert all(isinstance(e, Event) for e in events)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("stream", ["consent", "track"])
def test_a_utf16_file_with_a_byte_order_mark_is_read(stream, encoding, tmp_path):
    text = "\r\n".join(records(stream)) + "\r\n"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    data = bom + text.encode(encoding)
    events, dead, n = read(data, stream, tmp_path)
    assert (len(events), dead, n) == (3, [], 3)


def test_non_ascii_text_survives_the_utf16_reading(tmp_path):
    rec = {**GOOD["web"], "properties": {"title": "Crème brûlée \u2028 日本"}}
    data = b"\xff\xfe" + (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-16-le")
    events, dead, _n = read(data, "web", tmp_path)
    assert dead == [] and events[0].attrs["properties"]["title"] == "Crème brûlée \u2028 日本"


def test_a_line_that_is_broken_otherwise_stays_a_dead_letter(tmp_path):
    data = (records("web")[0] + ",,\n" + "[\n").encode()
    events, dead, n = read(data, "web", tmp_path)
    assert len(events) == 0 and n == 1 and dead[0].reason == "invalid_json"
