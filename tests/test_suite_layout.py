"""The suite is a codebase too: these keep it one.

- Shared helpers live in tests/support (and fixtures in a conftest.py), so no module imports a test module,
  nor the conftest of another directory: moving or deleting a test never breaks another.
- No date or time is taken when a module is imported: under xdist, or in a run crossing midnight KST, a date
  frozen at import disagrees with the code's clock. Tests take the `today`/`clock` fixtures instead.
- Every folder of test modules is a package, so two rooms may hold a test file of the same name
  (vouchers/ledger/test_races.py and vouchers/enrolments/test_races.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
CLOCK_CALLS = {"kst_today", "utcnow", "today", "now"}  # hrdnet.timeutil, date.today(), datetime.now()


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "artifacts" not in p.parts)


def _name(path: Path) -> str:
    return ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)


def _imported(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _forbidden_import(importer: str, imported: str) -> bool:
    if not imported.startswith("tests."):
        return False
    last = imported.rsplit(".", 1)[-1]
    if last.startswith("test_"):
        return True
    own_folder = importer.rsplit(".", 1)[0]
    return last == "conftest" and imported not in ("tests.conftest", f"{own_folder}.conftest")


def test_no_module_imports_a_test_module_or_another_folders_conftest():
    found = [
        f"{_name(path)} imports {imported}"
        for path in _modules()
        for imported in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if _forbidden_import(_name(path), imported)
    ]
    assert found == [], "move what they share to tests/support or a conftest.py:\n" + "\n".join(found)


def _run_at_import(tree: ast.Module):
    """The nodes evaluated when the module is imported: everything but the bodies of functions (their
    decorators and default values do run at import)."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending += node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
            continue
        if isinstance(node, ast.Lambda):
            continue
        yield node
        pending += list(ast.iter_child_nodes(node))


def _clock_call(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return name if name in CLOCK_CALLS else None


def test_no_module_reads_the_clock_when_it_is_imported():
    found = [
        f"{path.relative_to(TESTS.parent)}:{node.lineno} calls {called}() at import"
        for path in _modules()
        for node in _run_at_import(ast.parse(path.read_text(encoding="utf-8")))
        if (called := _clock_call(node))
    ]
    assert found == [], "use the `today` or `clock` fixture (tests/conftest.py):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "folder",
    sorted({p.parent for p in _modules() if p.name.startswith("test_")} - {TESTS}),
    ids=lambda folder: str(folder.relative_to(TESTS)),
)
def test_every_folder_of_test_modules_is_a_package(folder):
    assert (folder / "__init__.py").exists()
