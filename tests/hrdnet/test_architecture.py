"""Rules of the code's shape that import-linter cannot see (its contracts are in pyproject.toml).

A name with a leading underscore is private to its module: another module that imports it, or reaches it
through the module (`cards._programme`), depends on what its owner is free to change. Such a helper becomes
a public operation instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hrdnet", "courses", "vouchers", "search")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _ours(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in PACKAGES


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_uses(source: str, here: str) -> list[str]:
    """`from ours import _x`, and `mod._x` where `mod` is one of our modules imported by module `here`."""
    tree = ast.parse(source)
    modules: set[str] = set()  # local names bound to our modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name.split(".")[0] for alias in node.names if _ours(alias.name)}
        elif isinstance(node, ast.ImportFrom) and _ours(node.module) and node.module != here:
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{here}: from {node.module} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)  # a module or a public name: both may be reached into
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"{here}: {node.value.id}.{node.attr} (line {node.lineno})")
    return found


def test_no_module_uses_a_private_name_of_another():
    sources = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    assert len(sources) > 50
    found = [use for path in sources for use in private_uses(path.read_text(encoding="utf-8"), _module_name(path))]
    assert found == []


def test_the_check_sees_both_ways_of_reaching_a_private_name():
    source = "from vouchers.cards import _programme\nfrom vouchers import ledger\nledger._truncate(1)\nx._y = 1\n"
    assert private_uses(source, "vouchers.sample") == [
        "vouchers.sample: from vouchers.cards import _programme",
        "vouchers.sample: ledger._truncate (line 3)",
    ]
