"""Issue 21: Ctrl-C is one line on stderr and exit 130, a closed stdout ends quietly (exit 141), progress only on a
terminal.  These run the installed ``journeyflow`` in a subprocess, as a user would."""
from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "analytics"))
from test_quality import build_output  # noqa: E402  the shared hand-made output

JOURNEYFLOW = [sys.executable, "-c", "import sys; from journeyflow.cli import main; sys.exit(main())"]
ENV = {**os.environ, "JOURNEYFLOW_HASH_KEY": "test-key", "JOURNEYFLOW_PROGRESS": ""}


def default_sigint() -> None:
    """(In the child) Ctrl-C's default disposition: a suite started as a background job of a script inherits SIGINT
    ignored (POSIX), which Python keeps, so the interrupt would never arrive whatever journeyflow does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


def test_ctrl_c_during_generate_is_one_line_and_exit_130(tmp_path):
    out = tmp_path / "big"
    proc = subprocess.Popen([*JOURNEYFLOW, "generate", "--customers", "500000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=default_sigint)
    try:
        end = time.monotonic() + 60  # (generate writes into a staging folder inside --out, moved in when complete)
        while not list(out.glob(".generate-staging-*/ground_truth.jsonl")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end, "generate never started writing"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:  # a failed wait must not leave a 500,000-customer generate eating a core for the rest of the suite
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert stderr.splitlines() == ["journeyflow generate: interrupted"], stderr
    assert "Traceback" not in stderr and stdout == ""


@pytest.fixture(scope="module")
def small_input(tmp_path_factory) -> Path:
    from journeyflow.tools.generator import generate
    d = tmp_path_factory.mktemp("in")
    # (a replay that runs well past 0.5 s after its staging folder appears: room for the interrupt; 150 customers ran
    # ~1.3 s in the tenth session and ~0.3 s in the twenty-first, when the interrupt began to land after publication)
    generate(600, 5, 7, d)
    return d


def test_ctrl_c_during_replay_is_one_line_and_exit_130(tmp_path, small_input):
    proc = subprocess.Popen([*JOURNEYFLOW, "replay", "--input", str(small_input), "--output", str(tmp_path / "o")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=default_sigint)
    # inside the pipeline: the staging folder beside the target exists from just before the run starts (waiting a
    # fixed time instead raced with a fast machine, where the small replay had already finished)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".o.replay-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.skip("the replay finished before the interrupt")
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:  # never leave the replay running past a failed wait
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if (tmp_path / "o" / "run.json").exists() and not list(tmp_path.glob(".o.replay-*")):
        # the signal landed after the whole output was moved into place (one rename, manifest included): the run's
        # work was done, as when it finishes before the interrupt (skipped above); then 130 with the line, or, in the
        # interpreter's shutdown (Python has restored the default SIGINT disposition), -2 and nothing; CI met both
        pytest.skip("the interrupt came after the complete output was published")
    assert proc.returncode == 130
    assert stderr.splitlines() == ["journeyflow replay: interrupted"], stderr
    assert list(tmp_path.iterdir()) == []  # no half output: neither the target nor the staging folder beside it


def test_a_closed_pipe_ends_quietly(tmp_path):
    out = build_output(tmp_path / "out")
    sql = "SELECT range AS n, repeat('x', 200) AS pad FROM range(200000)"
    proc = subprocess.Popen([*JOURNEYFLOW, "query", str(out), sql, "--format", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    assert proc.stdout.read(100)  # the reader takes a little, then goes away (like `| head`)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 141, stderr
    assert stderr == ""


def _generate(tmp_path: Path, env: dict[str, str], tty: bool) -> str:
    """stderr of a small ``generate``, on a pseudo-terminal or a pipe."""
    argv = [*JOURNEYFLOW, "generate", "--customers", "300", "--days", "3", "--out", str(tmp_path / "g")]
    if not tty:
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120).stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_progress_is_off_when_stderr_is_not_a_terminal(tmp_path):
    err = _generate(tmp_path, ENV, tty=False)
    assert err == "", err


def test_progress_is_shown_on_a_terminal(tmp_path):
    err = _generate(tmp_path, ENV, tty=True)
    assert "generate" in err and "persons" in err and "\r" in err, err


def test_progress_can_be_turned_off_on_a_terminal(tmp_path):
    err = _generate(tmp_path, {**ENV, "JOURNEYFLOW_PROGRESS": "0"}, tty=True)
    assert "persons" not in err, err


def test_replay_ticker_reports_on_a_terminal_only(monkeypatch, capsys):
    from journeyflow.cli import progress
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    with progress.Ticker("replay", lambda: "reading 12 input records", interval=0.01) as t:
        time.sleep(0.05)
    assert t.enabled and "reading 12 input records" in capsys.readouterr().err
    monkeypatch.setenv(progress.PROGRESS_ENV, "0")
    with progress.Ticker("replay", lambda: "reading") as t:
        pass
    assert not t.enabled and capsys.readouterr().err == ""


def test_a_ctrl_c_beam_re_raised_from_a_step_is_an_interrupt():
    """Beam re-raises an exception of a step with the step's name added; a KeyboardInterrupt (no message) becomes
    ``RuntimeError("KeyboardInterrupt [while running '<step>']")`` chained to it (``DoFnRunner._reraise_augmented``):
    the CLI reports it as an interrupt (exit 130, one line) and drops the traceback Beam logs for it."""
    import logging

    from journeyflow.cli import _interrupted, _not_an_interrupt

    def beam_style() -> RuntimeError:
        try:
            try:
                raise KeyboardInterrupt
            except BaseException as exn:
                try:
                    type(exn)(exn.args[0] + " [while running 'S']")
                except Exception:
                    raise RuntimeError("KeyboardInterrupt [while running 'S']")
        except RuntimeError as e:
            return e
        raise AssertionError("not raised")

    wrapped = beam_style()
    assert _interrupted(wrapped) and not _interrupted(RuntimeError("boom"))
    record = logging.LogRecord("apache_beam.runners.common", logging.ERROR, __file__, 1, wrapped, (),
                               (KeyboardInterrupt, KeyboardInterrupt(), None))
    assert _not_an_interrupt(record) is False
    other = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), (ValueError, ValueError("boom"), None))
    assert _not_an_interrupt(other) is True


def test_a_swallowed_ctrl_c_still_stops_the_replay_from_publishing(tmp_path):
    """A Ctrl-C that lands in a finalizer or a library's ``except BaseException`` is swallowed there and the pipeline
    runs on (the replay above then exited 0 and published, now and then): the handler remembers it, and the staged
    outputs are not moved into place."""
    from journeyflow.pipelines.output import INTERRUPTED, StagedOutput
    staging = tmp_path / ".o.replay-x"
    staging.mkdir()
    (staging / "run.json").write_text("{}")
    INTERRUPTED.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            StagedOutput(tmp_path / "o", staging, overwrite=False).publish()
    finally:
        INTERRUPTED.clear()
    assert not (tmp_path / "o").exists()
    StagedOutput(tmp_path / "o", staging, overwrite=False).publish()  # (not remembered past the clear)
    assert (tmp_path / "o" / "run.json").exists()
