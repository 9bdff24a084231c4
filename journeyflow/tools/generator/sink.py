"""Where generated lines go before they are written: per-stream buffers sorted by event time, spilled to sorted
run files in a temporary directory when large, and k-way merged when the stream files are written."""

from __future__ import annotations

import heapq
import os
import shutil
import tempfile
from pathlib import Path

from journeyflow.model.events import BUILTIN_STREAMS as STREAMS  # the six built-in streams (track: segment.py)

_KEY_LEN = 26  # "%015d%010d\t": event-time key, global sequence, tab


class _Sink:
    """Per-stream buffers of "<key><seq>\\t<json without event_id>\\n" with spilling."""

    def __init__(self, spill_lines: int, tmp_parent: Path) -> None:
        self.buffers: list[list[str]] = [[] for _ in STREAMS]
        self.runs: list[list[str]] = [[] for _ in STREAMS]
        self.counts = [0] * len(STREAMS)
        self.seq = 0
        self.buffered = 0
        self.spill_lines = max(1, spill_lines)
        self.tmp_parent = tmp_parent
        self.tmpdir: str | None = None
        self.open_files: list = []

    def add(self, stream: int, key: int, payload: str) -> None:
        self.seq += 1
        self.buffers[stream].append("%015d%010d\t%s\n" % (key, self.seq, payload))
        self.counts[stream] += 1
        self.buffered += 1
        if self.buffered >= self.spill_lines:
            self.spill()

    def spill(self) -> None:
        if self.tmpdir is None:
            self.tmpdir = tempfile.mkdtemp(prefix=".generate-", dir=self.tmp_parent)
        for s, buf in enumerate(self.buffers):
            if not buf:
                continue
            buf.sort()
            path = os.path.join(self.tmpdir, "%s-%05d.run" % (STREAMS[s], len(self.runs[s])))
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.writelines(buf)
            self.runs[s].append(path)
            self.buffers[s] = []
        self.buffered = 0

    def sorted_lines(self, stream: int):
        buf = self.buffers[stream]
        buf.sort()
        if not self.runs[stream]:
            return iter(buf)
        files = [open(p, encoding="utf-8", newline="\n") for p in self.runs[stream]]
        self.open_files.extend(files)
        return heapq.merge(*files, buf)

    def close(self) -> None:
        for fh in self.open_files:
            fh.close()
        self.open_files = []
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

