"""Ctrl-C in the first ~0.7 s of any command — while ``journeyflow`` builds its parser (each command's options
import their modules) — is one line and exit 130 like any other interrupt (QA round 2 of issue 21).  Before, the
parser was built outside the interrupt handling: a 20-line traceback ending in ``KeyboardInterrupt`` and the
process killed by SIGINT (exit status -2), seen by sending SIGINT to ``journeyflow score-identity`` after 0.3 s."""
from __future__ import annotations

import journeyflow.cli as cli


def test_an_interrupt_while_the_parser_is_built_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["score-identity", "--input", "x", "--output", "y"]) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["journeyflow: interrupted"]
