"""Inspect: one sequence through the current model, one time step at a time."""
from explorer.ui.shell import ensure_shell

ensure_shell()

from explorer.ui import inspect_page  # noqa: E402

inspect_page.render()
