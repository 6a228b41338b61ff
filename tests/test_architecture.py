"""core, sources and store must never import Qt: walk every module's imports (AST)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "ketadesk"
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


QT_FREE = [p for part in ("core", "sources", "store") for p in (PKG / part).rglob("*.py")]


@pytest.mark.parametrize("path", QT_FREE, ids=lambda p: str(p.relative_to(PKG)))
def test_qt_free_module_imports_no_qt(path: Path) -> None:
    bad = [n for n in _imports(path) if n.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.relative_to(PKG)} imports {bad}; core/sources/store must stay Qt-free"


def test_the_walker_sees_a_qt_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from PySide6.QtCore import QTimer\n")
    assert _imports(f) == ["PySide6.QtCore"]


def test_headless_record_never_loads_qt(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ketadesk.cli import main\n"
        f"rc = main(['record', '--minutes', '0.2', '--speed', 'max', '--out', r'{tmp_path / 'r.db'}'])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
        "print(rc, loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("0 []"), out.stdout + out.stderr
