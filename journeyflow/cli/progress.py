"""Progress of long commands on a terminal (tqdm, on stderr), and nothing when stderr is not a terminal (a pipe, a
file, CI): the output of a command run from a script stays exactly its result.

``JOURNEYFLOW_PROGRESS=0`` turns progress off on a terminal too, ``=1`` forces it on (tests); the usual spellings of
a boolean setting (``false``/``no``/``off``, ``true``/``yes``/``on``, any case) mean the same, any other value
leaves the default."""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from typing import Any, Callable

from tqdm import tqdm

#: Environment variable: ``0`` never show progress, ``1`` always (default: when stderr is a terminal).
PROGRESS_ENV = "JOURNEYFLOW_PROGRESS"
_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"1", "true", "yes", "on"})


def enabled() -> bool:
    """Whether to show progress: stderr is a terminal (or :data:`PROGRESS_ENV` says otherwise)."""
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced in _OFF or forced in _ON:
        return forced in _ON
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def bar(total: int | None, desc: str, unit: str = "it") -> tqdm:
    """A tqdm bar on stderr (disabled when :func:`enabled` is false): counts, elapsed time and rate."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, disable=not enabled(),
                ncols=_width(), nrows=_height(), leave=False)


def _width() -> int:
    """The terminal's width (80 when it reports none, as a fresh pseudo-terminal does)."""
    return shutil.get_terminal_size().columns


def _height() -> int:
    """The terminal's height (24 when it reports none: tqdm would then draw nothing)."""
    return shutil.get_terminal_size().lines


class Ticker:
    """For work that reports no progress of its own (a Beam pipeline, a validation): a line on stderr with what is
    being done, ``status()`` (e.g. the input size) and the elapsed time, redrawn twice a second by a daemon thread
    while the ``with`` block runs; cleared at the end.  Does nothing when :func:`enabled` is false."""

    def __init__(self, desc: str, status: Callable[[], str] | None = None, interval: float = 0.5):
        self.desc = desc
        self.status = status or (lambda: "")
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: tqdm | None = None
        self.t0 = time.perf_counter()
        #: Whether the line is shown (set on entering the ``with`` block).
        self.enabled = False

    def __enter__(self) -> "Ticker":
        self.t0 = time.perf_counter()
        self.enabled = enabled()
        if self.enabled:
            self._bar = tqdm(total=None, desc=self.desc, file=sys.stderr, leave=False, ncols=_width(),
                             nrows=_height(),
                             bar_format="{desc} [{elapsed}]")
            self._tick()
            self._thread = threading.Thread(target=self._run, name="journeyflow-progress", daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        assert self._bar is not None
        status = self.status()
        self._bar.set_description_str(f"{self.desc}: {status}" if status else self.desc, refresh=False)
        self._bar.refresh()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._tick()
            except Exception:  # progress must never break the work it watches
                return

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._bar is not None:
            self._bar.close()

    @property
    def elapsed(self) -> float:
        """Seconds since the ``with`` block started."""
        return time.perf_counter() - self.t0


def count_input_records(input_dir: str) -> tuple[int, int]:
    """``(records, bytes)`` of the stream files of a local replay input (``(0, 0)`` for a ``gs://`` path): what a
    replay will read, shown while it runs.  Records are counted as the replay's reader
    (``transforms.sources._ReadFileFn``, counter ``records_read``) splits them: JSONL lines ended by LF, CRLF or a
    lone CR (``stages.json_text.jsonl_lines``), blank lines skipped, a Segment batch envelope one record per message
    (``stages.segment.batch.batch_count``); Avro files by their blocks' record counts.  (It counted LF bytes: a
    CR-only file was one record, blank lines and batches miscounted.)"""
    if "://" in input_dir or not os.path.isdir(input_dir):
        return 0, 0
    from journeyflow.model.events import STREAMS
    records = size = 0
    for stream in STREAMS:
        for ext in ("jsonl", "avro"):
            path = os.path.join(input_dir, f"{stream}.{ext}")
            if not os.path.exists(path):
                continue
            size += os.path.getsize(path)
            records += count_file_records(path, stream)
    return records, size


def count_file_records(path: str, stream: str) -> int:
    """Records of one local stream file (``<stream>.jsonl`` / ``.avro``) as the replay's reader splits them (see
    :func:`count_input_records`)."""
    from journeyflow.model.events import SEGMENT_STREAM
    from journeyflow.stages.json_text import jsonl_lines
    from journeyflow.stages.segment.batch import batch_count
    records = 0
    with open(path, "rb") as f:
        if path.endswith(".avro"):
            import fastavro
            return sum(block.num_records for block in fastavro.block_reader(f))
        for _i, line in jsonl_lines(f):
            if not line.strip():
                continue
            n = batch_count(line) if stream == SEGMENT_STREAM else None
            records += 1 if n is None else n
    return records
