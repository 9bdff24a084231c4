"""SIGKILL and restart with an explicit ``--resume`` (issue 23.3): the scenario and assertions of
test_kill_restart.py, in a file of its own so the two emulator runs go to different test workers."""
from __future__ import annotations

import pytest

from tests.e2e.test_kill_restart import kill_and_restart

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def test_sigkill_and_a_resume_restart_give_the_replay_decisions(pubsub_emulator, tmp_path):
    kill_and_restart(pubsub_emulator, tmp_path, ["--resume"])
