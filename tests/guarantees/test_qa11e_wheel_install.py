"""qa11e: a regular (non-editable) install -- ``pip install .`` as deploy/dataflow/Dockerfile does for the workers'
image -- must give a package that imports, and must run its compiled core.

* pyproject.toml lists the packages by hand and misses journeyflow.stages.arbitration / .identity / .journeys /
  .segment and journeyflow.transforms.sinks: the wheel has none of their files (``import journeyflow.stages.identity``
  fails in the installed package).
* A wheel installer writes ``<mod>.cpython-*.so`` before ``<mod>.py`` (zip order), so every installed source is a few
  microseconds newer than its extension; journeyflow.compiled.SourceFirst then calls every extension stale, warns
  once per module and runs the source: the compiled core never runs outside an editable checkout."""
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from journeyflow import compiled

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
DIRS = {"journeyflow": "journeyflow", "pipelines": "journeyflow.pipelines", "transforms": "journeyflow.transforms",
        "schemas": "journeyflow.schemas"}


def test_the_wheel_lists_every_package_of_the_source_tree():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, dotted in DIRS.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((dotted, *rel)))
    assert sorted(found - listed) == []


@pytest.mark.skipif(not UV.exists() or shutil.which("cc") is None, reason="needs uv and a C compiler")
def test_an_installed_wheel_runs_its_extensions(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for top in DIRS:
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    (src / "journeyflow" / "compiled_modules.txt").write_text("journeyflow.stages.bounded\n")
    built = subprocess.run([str(UV), "build", "-q", "--wheel", "-o", str(tmp_path / "dist"), str(src)],
                           capture_output=True, text=True, check=False, timeout=900)
    assert built.returncode == 0, built.stderr[-1500:]
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    *map(str, (tmp_path / "dist").glob("*.whl"))], check=True, timeout=300)
    stages = target / "journeyflow" / "stages"
    assert list(stages.glob("bounded.*.so"))
    finder = compiled.SourceFirst(frozenset({"journeyflow.stages.bounded"}), pure=False)
    spec = finder.find_spec("journeyflow.stages.bounded", [str(stages)])
    assert spec.origin.endswith(".so"), spec.origin  # today: bounded.py, with "older than bounded.py" warning
