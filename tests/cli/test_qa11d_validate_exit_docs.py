"""qa11d: the two ``validate`` commands exit differently, and the README said so for only one of them.

``journeyflow validate OUT`` exits 1 when a data-quality check fails ("a check failed"); ``journeyflow journeys
validate FILE`` exits 2 for a file with errors (an input error, one message with file:line) — a CI step written
for the first (``[ $? -eq 1 ]``) missed the second.  The README's row for ``journeys validate`` now names its exit
codes, and this test holds it to what the command does."""
from __future__ import annotations

from pathlib import Path

from journeyflow.cli import main

README = Path(__file__).parents[2] / "README.md"


def test_journeys_validate_exits_as_the_readme_says(tmp_path, capsys):
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `journeyflow journeys validate"))
    assert "exit 0" in row and "exit 2" in row
    bad = tmp_path / "journeys.yaml"
    bad.write_text("version: 1\njourneys:\n  - id: x\n    priority: 1\n")
    assert main(["journeys", "validate", str(bad)]) == 2
    assert f"{bad}:" in capsys.readouterr().err
