"""The layers of the architecture: core has no Qt, workers no widgets, imports point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).parents[1] / "app"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(layer: str) -> list[Path]:
    return sorted((APP / layer).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: str(p.relative_to(APP)))
def test_core_never_imports_qt_or_upper_layers(path: Path) -> None:
    bad = {m for m in _imports(path)
           if m.split(".")[0] == "PySide6" or m.startswith(("app.ui", "app.workers", "app.cli"))}
    assert not bad, f"{path.relative_to(APP)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _modules("workers"), ids=lambda p: str(p.relative_to(APP)))
def test_workers_use_qtcore_only_and_never_the_ui(path: Path) -> None:
    bad = {m for m in _imports(path)
           if m.startswith(("PySide6.QtWidgets", "PySide6.QtGui", "app.ui"))}
    assert not bad, f"{path.relative_to(APP)} imports {sorted(bad)}"


def test_the_layers_have_modules() -> None:
    # Guard against the checks above silently checking nothing after a move.
    assert len(_modules("core")) > 10
    assert len(_modules("workers")) >= 3
