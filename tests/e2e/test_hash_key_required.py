"""Issue 23.5: on Dataflow neither the launcher nor a worker starts without a real secret hashing key; local runs
keep the development key (with a warning)."""
from __future__ import annotations

import logging

import pytest

from journeyflow.pipelines import launch
from journeyflow.stages.identity import secret
from journeyflow.stages.identity.keys import DEFAULT_HASH_KEY, HASH_KEY_ENV, Hasher

PROJECT = "test-project"
STORE = f"bigtable://{PROJECT}/journeyflow/identity"
IMAGE = f"us-central1-docker.pkg.dev/{PROJECT}/journeyflow/journeyflow:test"
ARGV = ["--runner=DataflowRunner", "--dry_run=True", "--no_auth", f"--project={PROJECT}", "--region=us-central1",
        "--temp_location=gs://bucket/tmp", f"--identity_store={STORE}", f"--sdk_container_image={IMAGE}"]
REAL = "q8Vb1m0xJ3nY7rT2kL5wZ9pC4sF6hD0a"  # test-only
#: values a secret (or the variable) must not hold: missing/empty, whitespace, the public key in any spelling, short
DEV = DEFAULT_HASH_KEY.decode()
NOT_REAL = ["", "   \n", DEV, f" {DEV}\n", DEV.upper(), "short-key"]


def _secret_reader(value: str, calls: list[str]):
    return lambda name: calls.append(name) or value


def test_a_dataflow_launch_without_any_key_is_refused():
    with pytest.raises(launch.LaunchError, match="no hashing key"):
        launch.dataflow_argv("stream", ARGV, environ={}, read_secret=_secret_reader(REAL, []))
    # the same for a replay
    with pytest.raises(launch.LaunchError, match="no hashing key"):
        launch.dataflow_argv("replay", [*ARGV, "--input=gs://b/in", "--output=gs://b/out"], environ={})


@pytest.mark.parametrize("value", NOT_REAL)
def test_a_dataflow_launch_whose_secret_is_not_a_real_key_is_refused(value):
    calls: list[str] = []
    env = {launch.HASH_KEY_SECRET_ENV: "journeyflow-hash-key"}
    with pytest.raises(launch.LaunchError, match="journeyflow-hash-key"):
        launch.dataflow_argv("stream", ARGV, environ=env, read_secret=_secret_reader(value, calls))
    assert calls == ["journeyflow-hash-key"]  # the launcher read the secret the workers will read
    with pytest.raises(launch.LaunchError, match=HASH_KEY_ENV):
        launch.dataflow_argv("stream", ARGV, environ={HASH_KEY_ENV: value or " "})


def test_a_dataflow_launch_whose_secret_cannot_be_read_is_refused():
    def denied(name):
        raise RuntimeError("reading secret projects/p/secrets/k/versions/latest: HTTP 403")

    with pytest.raises(launch.LaunchError, match="cannot read the hashing key secret.*403"):
        launch.dataflow_argv("stream", ARGV, environ={launch.HASH_KEY_SECRET_ENV: "k"}, read_secret=denied)


def test_a_dataflow_launch_with_a_real_secret_key_goes_ahead():
    calls: list[str] = []
    env = {launch.HASH_KEY_SECRET_ENV: "journeyflow-hash-key"}
    assert launch.dataflow_argv("stream", ARGV, environ=env, read_secret=_secret_reader(REAL, calls)) == ARGV
    assert launch.dataflow_argv("stream", ARGV, environ={HASH_KEY_ENV: REAL}) == ARGV
    assert calls == ["journeyflow-hash-key"]


def test_the_launcher_main_exits_2_without_a_key(monkeypatch, capsys):
    monkeypatch.delenv(launch.HASH_KEY_SECRET_ENV, raising=False)
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    assert launch.main(["--mode=stream", *ARGV]) == 2
    assert "no hashing key" in capsys.readouterr().err


@pytest.mark.parametrize("value", NOT_REAL)
def test_a_worker_refuses_to_boot_without_a_real_key_in_its_secret(value):
    booted: list = []
    env = {launch.HASH_KEY_SECRET_ENV: "journeyflow-hash-key"}
    with pytest.raises(launch.LaunchError, match="refusing to start the worker"):
        launch.worker_boot(["--id=1"], environ=env, read_secret=lambda name: value,
                           execv=lambda path, args: booted.append(path))
    assert booted == [] and HASH_KEY_ENV not in env  # Beam's boot never ran; the bad key was not exported
    with pytest.raises(launch.LaunchError, match="refusing to start the worker"):  # nor a bad key given directly
        launch.worker_boot([], environ={HASH_KEY_ENV: value or " "}, read_secret=lambda name: REAL,
                           execv=lambda path, args: booted.append(path))
    assert booted == []


def test_a_worker_refuses_to_boot_when_no_secret_is_named():
    booted: list = []
    for env in ({}, {launch.HASH_KEY_SECRET_ENV: "  "}):
        with pytest.raises(launch.LaunchError, match="development key"):
            launch.worker_boot([], environ=env, read_secret=lambda name: REAL,
                               execv=lambda path, args: booted.append(path))
    assert booted == []


def test_a_worker_whose_secret_cannot_be_read_does_not_boot():
    def denied(name):
        raise RuntimeError("HTTP 403")

    booted: list = []
    with pytest.raises(RuntimeError, match="403"):
        launch.worker_boot([], environ={launch.HASH_KEY_SECRET_ENV: "k"}, read_secret=denied,
                           execv=lambda path, args: booted.append(path))
    assert booted == []


def test_local_runs_keep_the_development_key_with_a_warning(monkeypatch, caplog):
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    monkeypatch.setattr(secret, "_warned", False)
    with caplog.at_level(logging.WARNING, logger=secret.__name__):
        hasher = Hasher.from_env()
    assert hasher.email("a@example.com") == Hasher(DEFAULT_HASH_KEY).email("a@example.com")
    assert "development key" in caplog.text and DEFAULT_HASH_KEY.decode() not in caplog.text


def test_derived_keys_are_independent_of_the_hmac_key_and_of_each_other():
    a = secret.derive_key(REAL.encode(), "journeyflow state-transfer v1")
    assert len(a) == 32 and a == secret.derive_key(REAL.encode(), "journeyflow state-transfer v1")
    assert a != secret.derive_key(REAL.encode(), "journeyflow other use")
    assert a != secret.derive_key(b"another-secret-key-0123456789", "journeyflow state-transfer v1")
    assert REAL.encode() not in a
