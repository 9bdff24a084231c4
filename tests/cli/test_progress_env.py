"""``JOURNEYFLOW_PROGRESS`` takes the usual spellings of a boolean setting (QA round 2 of issue 21, env vars): a user
who writes ``JOURNEYFLOW_PROGRESS=false`` or ``off`` to silence the progress line on a terminal got it anyway (only
``0`` and ``1`` were read; anything else fell back to "on when stderr is a terminal")."""
from __future__ import annotations

import pytest

from journeyflow.cli import progress


class _Tty:
    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "OFF", " off "])
def test_off_spellings_turn_progress_off_on_a_terminal(value, monkeypatch):
    monkeypatch.setattr(progress.sys, "stderr", _Tty())
    monkeypatch.setenv(progress.PROGRESS_ENV, value)
    assert progress.enabled() is False


@pytest.mark.parametrize("value", ["1", "true", "Yes", "on"])
def test_on_spellings_force_progress_without_a_terminal(value, monkeypatch, capsys):
    monkeypatch.setenv(progress.PROGRESS_ENV, value)
    assert progress.enabled() is True


def test_another_value_leaves_the_default(monkeypatch):
    monkeypatch.setattr(progress.sys, "stderr", _Tty())
    monkeypatch.setenv(progress.PROGRESS_ENV, "maybe")
    assert progress.enabled() is True
