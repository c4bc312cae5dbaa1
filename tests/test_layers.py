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


# -- the direction of imports inside the core: data and models below, training above, charts apart ------------

def _explorer_path(module: str) -> Path | None:
    """explorer.a.b -> its file (a module or a package's __init__), else None."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imports_reached(path: Path) -> set[str]:
    """Every explorer module `path` imports, directly or through the modules it imports (lazy imports too)."""
    seen, todo = set(), [path]
    while todo:
        for module in imported_modules(todo.pop()):
            target = _explorer_path(module)
            if target is not None and module not in seen:
                seen.add(module)
                todo.append(target)
    return seen


BELOW_RUN = sorted([ROOT / "explorer" / name for name in ("models.py", "scan.py", "trace.py", "records.py", "cells.py",
                                                          "config.py", "budget.py")]
                   + list((ROOT / "explorer" / "tasks").glob("*.py")))
ABOVE = ("explorer.run", "explorer.trainer", "explorer.presets", "explorer.compare", "explorer.inspection",
         "explorer.charts", "explorer.ui")


@pytest.mark.parametrize("path", BELOW_RUN, ids=lambda p: str(p.relative_to(ROOT)))
def test_models_and_tasks_never_import_run_or_anything_above_it(path):
    reached = imports_reached(path)
    assert not any(m == up or m.startswith(up + ".") for m in reached for up in ABOVE), sorted(reached)


PLAIN = sorted((ROOT / "explorer" / "charts").glob("*.py")) + [ROOT / "explorer" / "style.py", ROOT / "explorer" / "cells.py"]


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_charts_never_import_torch(path):
    """Not directly, and not through an explorer module they import: a chart builder takes plain numbers."""
    for source in [path] + [_explorer_path(m) for m in imports_reached(path)]:
        modules = imported_modules(source)
        assert not any(m == "torch" or m.startswith("torch.") for m in modules), (source.name, sorted(modules))


SHIPPED = sorted(p for p in ROOT.rglob("*.py") if not {".venv", "tests", ".git"} & set(p.relative_to(ROOT).parts))


def test_streamlit_is_imported_only_in_app_pages_and_explorer_ui():
    allowed = lambda p: p == ROOT / "app.py" or p.parent == ROOT / "pages" or (ROOT / "explorer" / "ui") in p.parents
    offenders = [str(p.relative_to(ROOT)) for p in SHIPPED if not allowed(p)
                 and any(m == "streamlit" or m.startswith("streamlit.") for m in imported_modules(p))]
    assert offenders == []
    assert any(p.name == "app.py" for p in SHIPPED) and len(SHIPPED) > 60  # the walk sees the whole tree


# -- one owner of the UI state ---------------------------------------------------------------------------------

UI_FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "explorer" / "ui").glob("*.py")])


def session_state_uses(path: Path) -> list[int]:
    """Lines that read or write st.session_state (an attribute named session_state of anything)."""
    return sorted({node.lineno for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.Attribute) and node.attr == "session_state"})


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_state_module_touches_session_state(path):
    """The Session object (explorer/ui/session.py) owns the UI state; state.py is its one entry and the widgets'
    values. (session.py hands an ended session's state to its slot, to empty it: Streamlit's object, not ours.)"""
    allowed = {"state.py": None, "session.py": 1}
    uses = session_state_uses(path)
    if path.name in allowed and path.parent.name == "ui":
        assert allowed[path.name] is None or len(uses) <= allowed[path.name], uses
    else:
        assert uses == [], f"{path.name} lines {uses}: go through explorer.ui.session / explorer.ui.state"


def test_the_session_state_guard_sees_a_use():
    assert session_state_uses(ROOT / "explorer" / "ui" / "state.py")
