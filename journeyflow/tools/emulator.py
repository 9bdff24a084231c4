"""Run a Google Cloud emulator (Bigtable, Pub/Sub, ...) from the gcloud SDK for tests and local runs.

    with GcloudEmulator("bigtable") as emu:
        os.environ.update(emu.env())          # BIGTABLE_EMULATOR_HOST=127.0.0.1:PORT
        ...
        emu.stop(); emu.start()               # simulate an outage; restarts on the same port (empty state)

The emulator runs ``gcloud beta emulators <name> start --host-port=127.0.0.1:PORT`` in its own process group
(session), so stopping it kills the gcloud wrapper *and* the emulator it spawned (``cbtemulator``, the Pub/Sub
emulator's JVM). Output goes to a log file (``.log_path``) whose tail is quoted in errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["EmulatorError", "GcloudEmulator", "emulator_available", "free_port"]

logger = logging.getLogger(__name__)


class _Spec:
    def __init__(self, env_var: str, platform_dir: str, component: str, apt: str, java: bool):
        self.env_var, self.platform_dir, self.component, self.apt, self.java = env_var, platform_dir, component, apt, java


_SPECS: dict[str, _Spec] = {
    "bigtable": _Spec("BIGTABLE_EMULATOR_HOST", "bigtable-emulator", "bigtable", "bigtable-emulator", java=False),
    "pubsub": _Spec("PUBSUB_EMULATOR_HOST", "pubsub-emulator", "pubsub-emulator", "pubsub-emulator", java=True),
    "datastore": _Spec(
        "DATASTORE_EMULATOR_HOST", "cloud-datastore-emulator", "cloud-datastore-emulator", "datastore-emulator", True
    ),
    "firestore": _Spec(
        "FIRESTORE_EMULATOR_HOST", "cloud-firestore-emulator", "cloud-firestore-emulator", "firestore-emulator", True
    ),
}


class EmulatorError(RuntimeError):
    """The emulator is not installed, failed to start, or did not open its port in time."""


def _spec(name: str) -> _Spec:
    try:
        return _SPECS[name]
    except KeyError:
        raise ValueError(f"unknown emulator {name!r}; known: {', '.join(sorted(_SPECS))}") from None


def _install_hint(name: str) -> str:
    spec = _spec(name)
    java = " It also needs a Java runtime (JRE 11+) on PATH." if spec.java else ""
    return (
        f"Install the Google Cloud SDK (https://cloud.google.com/sdk/docs/install) and the {name} emulator: "
        f"`gcloud components install beta {spec.component}`, or on apt-based installs "
        f"`apt-get install google-cloud-cli google-cloud-cli-{spec.apt}`.{java}"
    )


def _gcloud() -> str | None:
    return shutil.which("gcloud")


def _sdk_root(gcloud: str) -> Path:
    return Path(os.path.realpath(gcloud)).parent.parent


def emulator_available(name: str) -> bool:
    """True if gcloud is on PATH, the emulator component is installed and (if needed) Java is present."""
    spec = _spec(name)
    gcloud = _gcloud()
    if gcloud is None:
        return False
    if spec.java and shutil.which("java") is None:
        return False
    return (_sdk_root(gcloud) / "platform" / spec.platform_dir).is_dir()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (bound and released; another process may take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_open(host: str, port: int, timeout: float = 0.25) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    """True while a non-zombie process of group ``pgid`` exists.

    Orphaned members (the emulator child once the gcloud wrapper is dead) stay zombies until init reaps them,
    which can take a second; they hold no sockets, so on Linux they are read from /proc and ignored.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member we cannot signal still exists
        return True
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():  # pragma: no cover - non-Linux
        return True
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


class GcloudEmulator:
    """A gcloud emulator process on a loopback port (context manager).

    ``name``: ``"bigtable"``, ``"pubsub"``, ``"datastore"`` or ``"firestore"``. ``project`` adds ``--project``
    (Pub/Sub: use a valid GCP project id such as ``"test-project"``). ``port`` defaults to a free port chosen at
    the first start and kept for restarts.
    """

    def __init__(
        self,
        name: str,
        project: str | None = None,
        *,
        port: int | None = None,
        startup_timeout: float = 60.0,
        extra_args: Sequence[str] = (),
        log_dir: str | None = None,
        keep_log: bool = False,
    ):
        self.name = name
        self._spec = _spec(name)
        self.project = project
        self.bind_host = "127.0.0.1"
        self.port = port
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self.log_dir = log_dir
        self.keep_log = keep_log
        self.log_path: str | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- info --------------------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """``host:port`` clients connect to; raises EmulatorError before the first start."""
        if self.port is None:
            raise EmulatorError(f"{self.name} emulator was never started")
        return f"{self.bind_host}:{self.port}"

    @property
    def env_var(self) -> str:
        """The variable clients read (``PUBSUB_EMULATOR_HOST`` / ``BIGTABLE_EMULATOR_HOST``)."""
        return self._spec.env_var

    def env(self) -> dict[str, str]:
        """Environment variables that point clients at this emulator."""
        return {self._spec.env_var: self.host}

    @property
    def running(self) -> bool:
        """Whether the emulator process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """The ``gcloud beta emulators <name> start`` command line; raises EmulatorError without gcloud."""
        gcloud = _gcloud()
        if gcloud is None:
            raise EmulatorError(f"gcloud is not on PATH. {_install_hint(self.name)}")
        cmd = [gcloud, "beta", "emulators", self.name, "start", f"--host-port={self.host}"]
        if self.project:
            cmd.append(f"--project={self.project}")
        cmd.extend(self.extra_args)
        return cmd

    def _log_tail(self, lines: int = 20) -> str:
        if not self.log_path:
            return ""
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> GcloudEmulator:
        """Start the emulator on a free port (if none was set) and wait until it accepts connections; raises
        EmulatorError (with the log tail) when it does not come up.  A no-op when it is running."""
        if self.running:
            return self
        if self._spec.java and shutil.which("java") is None:
            raise EmulatorError(f"java is not on PATH. {_install_hint(self.name)}")
        if self.port is None:
            self.port = free_port(self.bind_host)
        cmd = self.command()
        if self.log_path is None:
            fd, self.log_path = tempfile.mkstemp(prefix=f"gcloud-{self.name}-emulator-", suffix=".log", dir=self.log_dir)
            os.close(fd)
        env = dict(os.environ, CLOUDSDK_CORE_DISABLE_PROMPTS="1")
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = started + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._kill_group()
                raise EmulatorError(
                    f"{self.name} emulator exited with code {code} before opening {self.host}. "
                    f"{_install_hint(self.name)}\n--- {self.log_path} (tail) ---\n{self._log_tail()}"
                )
            if _port_open(self.bind_host, self.port):
                break
            if time.monotonic() > deadline:
                self._kill_group()
                raise EmulatorError(
                    f"{self.name} emulator did not open {self.host} within {self.startup_timeout:.0f}s.\n"
                    f"--- {self.log_path} (tail) ---\n{self._log_tail()}"
                )
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        logger.info("%s emulator up on %s in %.2fs", self.name, self.host, self.startup_seconds)
        return self

    def _kill_group(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, wait up to ``grace`` s for every member to exit, then SIGKILL it."""
        proc = self._proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the child leads its own process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            # The group outlives its leader while the emulator child (java, cbtemulator) is still alive.
            if proc.poll() is not None and not _group_alive(pgid):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)
        self._proc = None

    def stop(self) -> None:
        """Kill the whole process group and wait until the port is closed. Idempotent.

        The log file is removed unless ``keep_log`` (a failed start keeps it: the error quotes its path).
        """
        if self._proc is None:
            return
        self._kill_group()
        if self.port is not None:
            deadline = time.monotonic() + 10.0
            while _port_open(self.bind_host, self.port, timeout=0.1) and time.monotonic() < deadline:
                time.sleep(0.05)
        if not self.keep_log and self.log_path:
            with contextlib.suppress(OSError):
                os.unlink(self.log_path)
            self.log_path = None

    def restart(self) -> GcloudEmulator:
        """Stop, then start again on the same port."""
        self.stop()
        return self.start()

    def __enter__(self) -> GcloudEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"GcloudEmulator({self.name!r}, host={self.bind_host}:{self.port}, {state})"

    @contextlib.contextmanager
    def patched_env(self, environ: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
        """Set :meth:`env` in ``os.environ`` for the duration of the block, restoring previous values after."""
        target = os.environ if environ is None else environ
        saved = {k: target.get(k) for k in self.env()}
        target.update(self.env())  # type: ignore[attr-defined]
        try:
            yield self.env()
        finally:
            for k, v in saved.items():
                if v is None:
                    target.pop(k, None)  # type: ignore[attr-defined]
                else:
                    target[k] = v  # type: ignore[index]
