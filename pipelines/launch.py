"""One entry point for both pipelines on any runner (Dataflow Flex Template, Flink, local):

    python -m journeyflow.pipelines.launch --mode stream|replay [journeyflow options] [Beam options]

``--mode stream`` runs :func:`journeyflow.pipelines.stream.run_stream`, ``--mode replay``
:func:`journeyflow.pipelines.replay.run_replay`.  On Dataflow the launcher submits the job and returns without
waiting: a Flex Template launcher VM must hand over as soon as the job is created (a streaming job never finishes),
and the replay summary reads local output files, which a Dataflow replay writes to GCS.

Before submitting to Dataflow the launcher checks what would otherwise only fail on the workers, minutes later:
the streaming identity store must be shared by all workers (``bigtable://``), replay input and output must be on
GCS, and the workers need journeyflow installed (``--sdk_container_image``, defaulting to the image the
launcher runs in, see ``deploy/dataflow/Dockerfile``).

:func:`worker_boot` is the workers' container entry point: it reads the identifier hashing key from Secret
Manager into ``JOURNEYFLOW_HASH_KEY`` and then starts Beam's SDK harness.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

MODES = ("stream", "replay")
#: Image the workers run when ``--sdk_container_image`` is not given (set in the Flex Template image).
SDK_IMAGE_ENV = "JOURNEYFLOW_SDK_CONTAINER_IMAGE"
#: Secret Manager secret holding the hashing key: ``NAME`` (in the workers' project) or
#: ``projects/P/secrets/NAME[/versions/V]``.  Read by :func:`worker_boot`.
HASH_KEY_SECRET_ENV = "JOURNEYFLOW_HASH_KEY_SECRET"
BEAM_BOOT = "/opt/apache/beam/boot"
SHARED_STORES = ("bigtable://",)
#: Engine configuration files: read and validated on the launcher (``EngineConfig.from_files``).
CONFIG_OPTIONS = ("journeys", "policy", "link_rules", "segment_mapping", "attributes")


class LaunchError(ValueError):
    """A launch that would fail on the workers: refused before anything is submitted."""


def split_mode(argv: Sequence[str]) -> tuple[str, list[str]]:
    """(mode, remaining argv); ``--mode`` is required and is not a pipeline option."""
    parser = argparse.ArgumentParser(prog="python -m journeyflow.pipelines.launch", add_help=False)
    parser.add_argument("--mode", choices=MODES, required=True,
                        help="stream: Pub/Sub in and out; replay: bounded replay of <stream>.jsonl/.avro files.")
    ns, rest = parser.parse_known_args(list(argv))
    return ns.mode, rest


def is_dataflow(runner: str | None) -> bool:
    """``DataflowRunner`` under any of the spellings Beam accepts (``dataflow``, the dotted class path...)."""
    return (runner or "").rsplit(".", 1)[-1].lower() in ("dataflow", "dataflowrunner", "testdataflowrunner")


def localize_config_files(argv: list[str], workdir: str | None = None) -> list[str]:
    """Copies the engine configuration files (``CONFIG_OPTIONS``) given as ``gs://`` (any Beam filesystem URL) to a local temporary
    directory and returns argv pointing at the copies: the engine configuration is read from local files, on the
    launcher, and a Flex Template launcher's only way to receive a custom file is a GCS path."""
    from apache_beam.io.filesystems import CompressionTypes, FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    from journeyflow.pipelines.options import JourneyflowOptions

    jf = PipelineOptions(argv).view_as(JourneyflowOptions)
    out = list(argv)
    for name in CONFIG_OPTIONS:
        url = getattr(jf, name)
        if url and "://" in url:
            workdir = workdir or tempfile.mkdtemp(prefix="journeyflow-config-")
            local = os.path.join(workdir, f"{name}-{url.rstrip('/').rsplit('/', 1)[-1]}")
            with FileSystems.open(url, compression_type=CompressionTypes.UNCOMPRESSED) as src, \
                    open(local, "wb") as dst:
                shutil.copyfileobj(src, dst)
            out.append(f"--{name}={local}")  # argparse: the last occurrence wins
    return out


def dataflow_argv(mode: str, argv: list[str], environ: MutableMapping[str, str] = os.environ,
                  read_secret: Callable[[str], str] | None = None) -> list[str]:
    """Checks a Dataflow launch and returns its argv, with ``--sdk_container_image`` defaulted from
    ``JOURNEYFLOW_SDK_CONTAINER_IMAGE``.  Raises :class:`LaunchError` for a launch that cannot work, including one
    without a real hashing key (:func:`hash_key_problem`; ``read_secret`` reads a secret's value, default
    :func:`access_secret`)."""
    from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, WorkerOptions

    from journeyflow.pipelines.options import JourneyflowOptions

    opts = PipelineOptions(argv)
    jf = opts.view_as(JourneyflowOptions)
    problems = []
    if mode == "stream" and not jf.identity_store.startswith(SHARED_STORES):
        problems.append(f"--identity_store {jf.identity_store!r} is local to each worker; on Dataflow use "
                        "bigtable://PROJECT/INSTANCE/TABLE")
    if mode == "replay":
        for name in ("input", "output"):
            value = getattr(jf, name)
            if not value or not value.startswith("gs://"):
                problems.append(f"--{name} {value!r}: Dataflow workers only see gs:// paths")
    key_problem = hash_key_problem(environ, read_secret or access_secret)
    if key_problem:
        problems.append(key_problem)
    out = list(argv)
    setup = opts.view_as(SetupOptions)
    if not opts.view_as(WorkerOptions).sdk_container_image:
        if environ.get(SDK_IMAGE_ENV):
            out.append(f"--sdk_container_image={environ[SDK_IMAGE_ENV]}")
        elif not (setup.setup_file or setup.extra_packages):
            problems.append("the workers need journeyflow installed: pass --sdk_container_image IMAGE (the image "
                            "built from deploy/dataflow/Dockerfile) or --extra_package journeyflow-*.whl")
    if problems:
        raise LaunchError("refusing to launch on Dataflow:\n  " + "\n  ".join(problems))
    return out


def submit_replay(argv: list[str]):
    """Replay without waiting and without the summary (returns the PipelineResult): ``run_replay`` waits, then
    summarizes the output with local file reads, which fails for output on GCS (Dataflow) or another remote
    filesystem.  Raises :class:`LaunchError` without ``--input`` and ``--output``."""
    from journeyflow.pipelines.replay import ReplayArgumentError, ReplayJob

    try:
        job = ReplayJob.from_argv(argv)
    except ReplayArgumentError as e:
        raise LaunchError(str(e)) from None
    return job.pipeline().run()


def launch(argv: Sequence[str], default_runner: str | None = None):
    """Runs ``--mode`` with the rest of ``argv``.  Returns the PipelineResult (Dataflow: not waited for; other
    runners: finished) or, for a replay into a local directory, its summary."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    mode, rest = split_mode(argv)
    rest = localize_config_files(rest)
    runner = PipelineOptions(rest).view_as(StandardOptions).runner
    if not runner and default_runner:
        rest.append(f"--runner={default_runner}")
        runner = default_runner
    if is_dataflow(runner):
        rest = dataflow_argv(mode, rest)
        if mode == "stream":
            from journeyflow.pipelines.stream import run_stream
            result = run_stream(rest, wait=False)
        else:
            result = submit_replay(rest)
        job_id = getattr(result, "job_id", None)
        log.info("submitted Dataflow %s job %s", mode, job_id() if callable(job_id) else "(dry run)")
        return result
    if mode == "stream":
        from journeyflow.pipelines.stream import run_stream
        return run_stream(rest, wait=True)
    from journeyflow.pipelines.options import JourneyflowOptions
    if "://" in (PipelineOptions(rest).view_as(JourneyflowOptions).output or ""):
        result = submit_replay(rest)  # remote output (gs://, hdfs://...): no local summary
        result.wait_until_finish()
        return result
    from journeyflow.pipelines.replay import run_replay
    return run_replay(rest)


def main(argv: Sequence[str] | None = None, default_runner: str | None = None) -> int:
    """Command-line entry point: :func:`launch` with ``argv`` (default ``sys.argv[1:]``).  Returns the exit code:
    0, 2 for a refused launch (:class:`LaunchError`), 3 for a local replay whose accounting does not reconcile."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = launch(sys.argv[1:] if argv is None else argv, default_runner)
    except LaunchError as e:
        print(f"journeyflow launch: {e}", file=sys.stderr)
        return 2
    render = getattr(out, "render", None)  # a replay summary (non-Dataflow runners)
    if render is not None:
        print(render())
        return 0 if out.reconciles else 3
    return 0


# ------------------------------------------------------------------------------------------- worker side
def secret_version_name(secret: str, project: str | None) -> str:
    """``NAME`` → ``projects/<project>/secrets/NAME/versions/latest``; a full name gets ``/versions/latest``
    unless it names a version."""
    if secret.startswith("projects/"):
        return secret if "/versions/" in secret else f"{secret}/versions/latest"
    if not project:
        raise LaunchError(f"secret {secret!r} has no project: use projects/PROJECT/secrets/{secret}")
    return f"projects/{project}/secrets/{secret}/versions/latest"


def access_secret(secret: str) -> str:
    """The secret's value, read with the worker's service account (Secret Manager REST API)."""
    import base64

    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    name = secret_version_name(secret, project)
    resp = AuthorizedSession(credentials).get(f"https://secretmanager.googleapis.com/v1/{name}:access", timeout=60)
    if resp.status_code != 200:
        raise RuntimeError(f"reading secret {name}: HTTP {resp.status_code} {resp.text[:300]}")
    return base64.b64decode(resp.json()["payload"]["data"]).decode("utf-8")


def hash_key_problem(environ: MutableMapping[str, str], read_secret: Callable[[str], str]) -> str | None:
    """Why a Dataflow launch has no real hashing key, or None.  The workers run the launcher's image (the Flex
    Template image is the SDK image, ``deploy/dataflow/Dockerfile``), so the launcher sees the secret name the
    workers will read: it must be set, readable and hold a real key
    (:func:`journeyflow.stages.identity.secret.check_real_key`).  A key given directly in ``JOURNEYFLOW_HASH_KEY``
    (an image that carries it) is checked the same way instead."""
    from journeyflow.stages.identity.secret import HASH_KEY_ENV, InsecureKeyError, check_real_key

    secret = environ.get(HASH_KEY_SECRET_ENV, "").strip()
    try:
        if secret:
            try:
                value = read_secret(secret)
            except Exception as e:  # noqa: BLE001 - any failure to read is a refused launch, with its cause
                return f"cannot read the hashing key secret {secret!r} ({type(e).__name__}: {str(e)[:200]})"
            check_real_key(value, f"secret {secret!r}")
        elif environ.get(HASH_KEY_ENV):
            check_real_key(environ[HASH_KEY_ENV], HASH_KEY_ENV)
        else:
            return (f"no hashing key: set {HASH_KEY_SECRET_ENV} to the Secret Manager secret holding it (make template "
                    "HASH_KEY_SECRET=...); the workers would otherwise hash identifiers with the public "
                    "development key")
    except InsecureKeyError as e:
        return str(e)
    return None


def worker_boot(argv: Sequence[str], environ: MutableMapping[str, str] = os.environ,
                read_secret: Callable[[str], str] = access_secret,
                execv: Callable[[str, list[str]], Any] = os.execv) -> None:
    """Container entry point on Dataflow workers: sets ``JOURNEYFLOW_HASH_KEY`` from the secret named by
    ``JOURNEYFLOW_HASH_KEY_SECRET`` (unless already set), then replaces itself with Beam's boot binary.

    Refuses to start (raises :class:`LaunchError` before Beam's boot runs; the error is in the worker log) when no
    secret is named and no key is set, the secret cannot be read, or the key is not a real one (empty, the public
    development key, too short: :func:`journeyflow.stages.identity.secret.check_real_key`): hashing with the
    public development key would produce identifiers anyone can recompute."""
    from journeyflow.stages.identity.secret import HASH_KEY_ENV, InsecureKeyError, check_real_key

    secret = environ.get(HASH_KEY_SECRET_ENV, "").strip()
    try:
        if environ.get(HASH_KEY_ENV):
            check_real_key(environ[HASH_KEY_ENV], HASH_KEY_ENV)
        elif secret:
            value = read_secret(secret)
            check_real_key(value, f"secret {secret!r}")
            environ[HASH_KEY_ENV] = value
        else:
            raise LaunchError(f"refusing to start the worker: neither {HASH_KEY_SECRET_ENV} nor {HASH_KEY_ENV} is "
                              "set, so identifiers would be hashed with the public development key")
    except InsecureKeyError as e:
        raise LaunchError(f"refusing to start the worker: {e}") from None
    execv(BEAM_BOOT, [BEAM_BOOT, *argv])


if __name__ == "__main__":
    sys.exit(main())
