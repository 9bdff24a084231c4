"""Ctrl-C during a long ``journeyflow query`` (QA round 3): DuckDB runs the query in C++, so the interpreter's SIGINT
handler never ran and the process kept going until killed.  Expected (README "Command line"): one line on stderr,
exit 130.  Run as a user would, in a subprocess."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "analytics"))
from test_quality import build_output  # noqa: E402  the shared hand-made output

JOURNEYFLOW = [sys.executable, "-c", "import sys; from journeyflow.cli import main; sys.exit(main())"]
ENV = {**os.environ, "JOURNEYFLOW_HASH_KEY": "test-key", "JOURNEYFLOW_PROGRESS": ""}


def default_sigint() -> None:
    """(In the child) Ctrl-C's default disposition: a suite started as a background job of a script inherits SIGINT
    ignored (POSIX), which Python keeps, so the interrupt would never arrive whatever journeyflow does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_long_query_with_one_line_and_exit_130(tmp_path):
    out = build_output(tmp_path / "out")
    marker = tmp_path / "started.csv"
    # the first statement runs at once and marks that the (endless) second one has started
    sql = f"COPY (SELECT 1 AS x) TO '{marker}'; SELECT count(*) AS n FROM range(1000000000000) a, decisions d"
    proc = subprocess.Popen([*JOURNEYFLOW, "query", str(out), sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV, preexec_fn=default_sigint)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("Ctrl-C did not stop the query") from None
    assert proc.returncode == 130, stderr
    assert stderr.splitlines() == ["journeyflow query: interrupted"], stderr
    assert stdout == ""
