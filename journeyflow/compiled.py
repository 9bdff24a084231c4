"""The compiled core: which of journeyflow's modules run as Cython-compiled extensions, and how to run without them.

The modules listed in ``compiled_modules.txt`` (the per-event path: state, journeys, arbitration, computed
attributes, conditions, deliverability, identity clusters) are plain Python that ``setup.py`` also compiles with
Cython at install time, as Apache Beam compiles its own runner and coders (``apache_beam/runners/common.py``,
``coders/coder_impl.py``): the same source, no Cython-only syntax, annotations not used as C types
(``annotation_typing=False``), so a compiled module behaves as its ``.py`` file does (the same outputs; tests/
guarantees/test_compiled.py compares the two on one population).  When both are present Python's import system
prefers the extension (``importlib.machinery.EXTENSION_SUFFIXES`` come first).

* Without a C compiler (or with ``JOURNEYFLOW_PURE_PYTHON=1`` at install time) nothing is compiled: the package
  installs and runs as plain Python, slower (``make bench`` reports which one it measured).
* ``JOURNEYFLOW_PURE_PYTHON=1`` at run time makes this process import the ``.py`` files even where the extensions
  are installed: to debug with pdb or a line profiler, or to compare.
* In a source checkout (an editable install: ``setup.py`` beside the package), an extension older than its ``.py``
  file (the source was edited, or touched by ``git checkout``/``pull``, after the build) is never imported: the
  source is, with a warning (``make`` targets rebuild the extensions first: ``setup.py build_ext
  --inplace``).  Both rules are :class:`SourceFirst`, which ``journeyflow/__init__.py`` installs.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from pathlib import Path

__all__ = ["PURE_PYTHON_ENV", "SourceFirst", "install", "modules", "pure_python_requested", "status"]

#: Set (to anything but ``""``/``0``) at run time: import the compiled modules' ``.py`` source instead.
PURE_PYTHON_ENV = "JOURNEYFLOW_PURE_PYTHON"
_LIST = Path(__file__).with_name("compiled_modules.txt")


def modules() -> tuple[str, ...]:
    """The dotted names of the modules ``setup.py`` compiles (``compiled_modules.txt``, comments dropped)."""
    names = (line.split("#", 1)[0].strip() for line in _LIST.read_text(encoding="utf-8").splitlines())
    return tuple(n for n in names if n)


def _is_extension(origin: str | None) -> bool:
    return bool(origin) and origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def status() -> dict[str, bool]:
    """Module name → True if this process runs it compiled (imports each module)."""
    out = {}
    for name in modules():
        mod = importlib.import_module(name)
        out[name] = _is_extension(getattr(mod, "__file__", None))
    return out


class SourceFirst(importlib.abc.MetaPathFinder):
    """A meta path finder for the listed modules: the ``.py`` file instead of the extension beside it when
    ``pure`` is set or when the extension is older than the source (stale); otherwise the normal spec (None for
    any other module: the next finder decides)."""

    def __init__(self, names: frozenset[str], pure: bool):
        self.names, self.pure = names, pure

    def find_spec(self, fullname, path, target=None):
        """The spec of ``fullname`` (importlib's ``MetaPathFinder`` protocol): the ``.py`` source's when pure or
        stale, else the normal one; None for a module not listed."""
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not _is_extension(spec.origin):
            return spec
        source = Path(spec.origin).parent / (fullname.rpartition(".")[2] + ".py")
        if not source.exists():
            return spec
        if not self.pure:
            if not _in_source_checkout(source) or source.stat().st_mtime <= Path(spec.origin).stat().st_mtime:
                return spec
            warnings.warn(f"{fullname}: the compiled extension is older than {source.name}: running the source "
                          "(rebuild: python setup.py build_ext --inplace)", RuntimeWarning, stacklevel=2)
        return importlib.util.spec_from_file_location(fullname, source)


def _in_source_checkout(source: Path) -> bool:
    """True if ``source`` is a module of a source checkout (``setup.py`` beside the top package: an editable
    install), where an edit can make an extension stale; an installed wheel's files are written in zip order (each
    ``.so`` before its ``.py``), so their times say nothing there."""
    top = source.parent
    while (top.parent / "__init__.py").exists():
        top = top.parent
    return (top.parent / "setup.py").exists()


def install(pure: bool | None = None) -> None:
    """Put :class:`SourceFirst` first on ``sys.meta_path`` (once; ``pure`` None: :func:`pure_python_requested`).
    Modules already imported stay as they are: ``journeyflow/__init__`` calls it before any of them is."""
    if not any(isinstance(f, SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFirst(frozenset(modules()), pure_python_requested() if pure is None else pure))


def pure_python_requested(environ=os.environ) -> bool:
    """True if :data:`PURE_PYTHON_ENV` asks for the source modules."""
    return environ.get(PURE_PYTHON_ENV, "") not in ("", "0")
