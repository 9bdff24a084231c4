"""The compiled core (journeyflow/compiled.py, setup.py): the listed modules are plain Python that setup.py also
compiles with Cython; the source and the extensions must decide the same, a stale or unwanted extension must never
run, and an install on a machine with a C compiler must actually compile them (or make bench measures the source)."""
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from journeyflow import compiled

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def test_every_listed_module_is_a_plain_python_source():
    names = compiled.modules()
    assert len(names) == len(set(names)) >= 10
    for name in names:
        source = ROOT / (name.replace(".", "/") + ".py")
        assert source.exists(), name
        text = source.read_text()
        assert "cimport" not in text and "cdef " not in text, name  # no Cython-only syntax: the source must run


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkgx"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("X = 1\n")
    return pkg


def _spec_origin(pkg: Path, pure: bool) -> str:
    finder = compiled.SourceFirst(frozenset({"pkgx.mod"}), pure=pure)
    return finder.find_spec("pkgx.mod", [str(pkg)]).origin


def test_source_first_takes_a_fresh_extension_unless_pure_is_asked(tmp_path):
    pkg = _package(tmp_path)
    ext = pkg / f"mod{SUFFIX}"
    ext.write_bytes(b"not loaded: find_spec only")
    os.utime(pkg / "mod.py", (1_000, 1_000))
    os.utime(ext, (2_000, 2_000))
    assert _spec_origin(pkg, pure=False) == str(ext)
    assert _spec_origin(pkg, pure=True) == str(pkg / "mod.py")
    assert compiled.SourceFirst(frozenset({"pkgx.mod"}), pure=True).find_spec("pkgx.other", [str(pkg)]) is None


def test_a_stale_extension_of_a_source_checkout_is_skipped_with_a_warning(tmp_path):
    pkg = _package(tmp_path)
    (tmp_path / "setup.py").write_text("")  # a source checkout (an editable install)
    ext = pkg / f"mod{SUFFIX}"
    ext.write_bytes(b"stale")
    os.utime(ext, (1_000, 1_000))
    os.utime(pkg / "mod.py", (2_000, 2_000))  # the source was edited after the build
    with pytest.warns(RuntimeWarning, match="older than mod.py"):
        assert _spec_origin(pkg, pure=False) == str(pkg / "mod.py")


def test_an_installed_package_takes_its_extension_whatever_the_file_times(tmp_path):
    """Installed from a wheel (no setup.py beside the package): installers write each .so before its .py."""
    pkg = _package(tmp_path)
    ext = pkg / f"mod{SUFFIX}"
    ext.write_bytes(b"installed")
    os.utime(ext, (1_000, 1_000))
    os.utime(pkg / "mod.py", (1_000.004, 1_000.004))
    assert _spec_origin(pkg, pure=False) == str(ext)


def test_pure_python_is_asked_by_the_environment_variable():
    assert compiled.pure_python_requested({"JOURNEYFLOW_PURE_PYTHON": "1"})
    assert not compiled.pure_python_requested({"JOURNEYFLOW_PURE_PYTHON": "0"})
    assert not compiled.pure_python_requested({})


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler here")
@pytest.mark.skipif(compiled.pure_python_requested(), reason="JOURNEYFLOW_PURE_PYTHON is set")
def test_the_install_compiled_the_core():
    """With a C compiler the install builds every listed module (make test rebuilds edited ones first): a silent
    fall-back to the source would make the product about 20 % slower without anyone noticing."""
    status = compiled.status()
    assert [name for name, is_compiled in status.items() if not is_compiled] == []


@pytest.mark.slow
def test_the_source_decides_what_the_compiled_core_decides(tmp_path):
    """The plain-Python replay of the golden population with the listed modules imported from source
    (JOURNEYFLOW_PURE_PYTHON=1, a subprocess) gives the recorded digest, as the default (compiled) run does in
    test_golden: topics byte for byte, tables row for row."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(GOLDEN)!r})
        import digest
        from pathlib import Path
        from journeyflow import compiled
        from journeyflow.tools.bench_plain import plain_replay
        from journeyflow.tools.generator import generate
        generate(150, 10, 7, "data")
        plain_replay(Path("data"), Path("out"))
        print(json.dumps({{"compiled": sum(compiled.status().values()),
                          "digest": digest.compute(Path("out"), Path("data"))}}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "JOURNEYFLOW_HASH_KEY"}
    env["JOURNEYFLOW_PURE_PYTHON"] = "1"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["compiled"] == 0
    sys.path.insert(0, str(GOLDEN))
    import digest
    assert digest.diff(json.loads((GOLDEN / "small.json").read_text()), got["digest"]) == []
