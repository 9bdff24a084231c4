"""Build of journeyflow's compiled core (everything else is declared in pyproject.toml).

The modules listed in ``journeyflow/compiled_modules.txt`` are compiled with Cython from their unchanged ``.py``
source, as Apache Beam compiles its own hot modules; each extension is ``optional``: a machine without a C compiler
builds and installs the plain-Python package (see ``journeyflow/compiled.py``).  ``JOURNEYFLOW_PURE_PYTHON=1`` at
install time skips the compilation.
"""
import os
from pathlib import Path

from setuptools import Extension, setup


def _extensions() -> list:
    if os.environ.get("JOURNEYFLOW_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # (a build without the declared build requirement: plain Python)
        return []
    names = [line.split("#", 1)[0].strip()
             for line in Path("journeyflow/compiled_modules.txt").read_text(encoding="utf-8").splitlines()]
    extensions = [Extension(n, [n.replace(".", "/") + ".py"], optional=True) for n in names if n]
    return cythonize(extensions, build_dir="build/cython", quiet=True, nthreads=os.cpu_count() or 1,
                     compiler_directives={"language_level": 3, "annotation_typing": False, "binding": True})


setup(ext_modules=_extensions(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
