"""Imports run one way between the project's packages (no package imports one further down the list)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# each package may import only the packages before it
LAYERS = ["sources", "staging", "indicators", "warehouse", "reports", "pipelines"]


def imported_packages(path: Path) -> set[str]:
    """Top-level project packages a module imports (anywhere in it, also inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


def test_no_package_imports_a_later_layer():
    upward = [f"{path.relative_to(ROOT)} imports {other}"
              for layer, package in enumerate(LAYERS)
              for path in sorted((ROOT / package).rglob("*.py"))
              for other in imported_packages(path) if LAYERS.index(other) > layer]
    assert upward == []


def test_every_layer_is_a_package_with_modules():
    """The rule above would pass vacuously for a renamed or emptied package."""
    assert all(len(list((ROOT / package).rglob("*.py"))) >= 2 for package in LAYERS)
