"""The layers of DESIGN.md: Streamlit only in app.py, pages/ and explorer/ui/; the core never imports the UI."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted(p for p in (ROOT / "explorer").rglob("*.py") if "ui" not in p.relative_to(ROOT / "explorer").parts)


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_modules_import_neither_streamlit_nor_the_ui(path):
    modules = imported_modules(path)
    assert not any(m == "streamlit" or m.startswith("streamlit.") for m in modules), modules
    assert not any(m.startswith("explorer.ui") for m in modules), modules


def test_the_guard_sees_the_whole_core():
    names = {p.name for p in CORE}
    assert {"run.py", "trace.py", "models.py", "config.py", "presets.py"} <= names
    assert len(CORE) > 20
