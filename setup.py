"""Build of journeyflow's compiled core (everything else is declared in pyproject.toml).

The modules listed in ``journeyflow/compiled_modules.txt`` are compiled with Cython from their unchanged ``.py``
source, as Apache Beam compiles its own hot modules.  Before declaring them, the build compiles a two-line C file
that includes ``Python.h`` with the compiler the build would use (``CC`` and Python's build settings): a machine
where that fails (no C compiler, no Python headers) builds and installs the plain-Python package instead, with one
line saying so (see ``journeyflow/compiled.py``).  ``JOURNEYFLOW_PURE_PYTHON=1`` at install time skips the
compilation.
"""
import os
import sys
import sysconfig
import tempfile
from pathlib import Path

from setuptools import Extension, setup


def _compiler_works() -> bool:
    """True if the build's C compiler compiles a file including ``Python.h`` (setuptools' own compiler factory, so
    ``CC``/``CFLAGS`` count as they will for the extensions)."""
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler
    try:
        compiler = new_compiler()
        customize_compiler(compiler)
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "probe.c"
            source.write_text("#include <Python.h>\nint probe(void) { return 0; }\n")
            compiler.compile([str(source)], output_dir=tmp, include_dirs=[sysconfig.get_paths()["include"]])
        return True
    except Exception as e:  # (CompileError, DistutilsExecError, OSError: whatever stops the compiler)
        print(f"journeyflow: no working C compiler ({type(e).__name__}: {e}): installing the plain-Python "
              "package (journeyflow/compiled.py)", file=sys.stderr)
        return False


def _extensions() -> list:
    if os.environ.get("JOURNEYFLOW_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # (a build without the declared build requirement: plain Python)
        return []
    if not _compiler_works():
        return []
    names = [line.split("#", 1)[0].strip()
             for line in Path("journeyflow/compiled_modules.txt").read_text(encoding="utf-8").splitlines()]
    extensions = [Extension(n, [n.replace(".", "/") + ".py"], optional=True) for n in names if n]
    return cythonize(extensions, build_dir="build/cython", quiet=True, nthreads=os.cpu_count() or 1,
                     compiler_directives={"language_level": 3, "annotation_typing": False, "binding": True})


setup(ext_modules=_extensions(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
