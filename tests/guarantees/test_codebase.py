"""The codebase stays one a newcomer can live in (issue 15): no product module over 500 lines, a docstring on every
public symbol (modules, classes, functions, methods), no ``eval``/``exec``, and the worker path (model, config,
stages, adapters, transforms, pipelines) does not import the developer tooling in ``journeyflow.tools`` at import
time."""
import ast
from pathlib import Path

import journeyflow
import journeyflow.pipelines
import journeyflow.transforms

MAX_LINES = 500
ROOTS = [Path(m.__file__).parent for m in (journeyflow, journeyflow.transforms, journeyflow.pipelines)]
FILES = sorted({f for r in ROOTS for f in r.rglob("*.py")})


def undocumented(path: Path) -> list[str]:
    """``path:line name`` of every public module, class, function or method without a docstring."""
    tree = ast.parse(path.read_text())
    out = [] if ast.get_docstring(tree) else [f"{path}:1 <module>"]

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name.startswith("_"):
                    continue
                if not ast.get_docstring(node):
                    out.append(f"{path}:{node.lineno} {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return out


def test_the_tree_is_what_the_checks_read():
    names = {f.relative_to(ROOTS[0].parent).as_posix() for f in FILES if ROOTS[0] in f.parents}
    assert "journeyflow/stages/processor.py" in names and len(FILES) > 40


def test_no_module_over_500_lines():
    long = {str(f): n for f in FILES if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_public_symbol_has_a_docstring():
    missing = [m for f in FILES for m in undocumented(f)]
    assert missing == []


def test_checker_sees_a_missing_docstring(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""doc"""\ndef public():\n    pass\n\ndef _private():\n    pass\n\nclass K:\n    """k"""\n    def m(self):\n        pass\n')
    assert [m.split(" ")[1] for m in undocumented(f)] == ["public", "K.m"]


def test_worker_path_does_not_import_tools():
    worker = [f for f in FILES if "tools" not in f.parts and "cli" not in f.parts and "analytics" not in f.parts]
    offenders = []
    for f in worker:
        for node in ast.parse(f.read_text()).body:  # module level only: a local import inside a function is lazy
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("journeyflow.tools"):
                offenders.append(f"{f}:{node.lineno}")
            if isinstance(node, ast.Import) and any(a.name.startswith("journeyflow.tools") for a in node.names):
                offenders.append(f"{f}:{node.lineno}")
    assert offenders == []
