"""Shared fixtures: real gcloud emulators, started once per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from journeyflow.tools.emulator import GcloudEmulator


def _emulator_session(name: str, **kwargs: object) -> Iterator[GcloudEmulator]:
    if shutil.which("gcloud") is None:
        pytest.skip(f"gcloud is not installed: the {name} emulator tests need the Google Cloud SDK")
    emulator = GcloudEmulator(name, **kwargs)  # type: ignore[arg-type]
    emulator.start()  # a missing component is an error with install instructions, not a skip
    saved = {key: os.environ.get(key) for key in emulator.env()}
    os.environ.update(emulator.env())
    try:
        yield emulator
    finally:
        emulator.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def bigtable_emulator() -> Iterator[GcloudEmulator]:
    """The Cloud Bigtable emulator; ``BIGTABLE_EMULATOR_HOST`` is set while the session runs."""
    yield from _emulator_session("bigtable")


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[GcloudEmulator]:
    """The Pub/Sub emulator (project ``test-project``); ``PUBSUB_EMULATOR_HOST`` is set while the session runs."""
    yield from _emulator_session("pubsub", project="test-project")
