"""Compare: race the architectures on one setup, sweep the sequence length, check the classic table."""
from explorer.ui.shell import ensure_shell

ensure_shell()

from explorer.ui import compare_page  # noqa: E402

compare_page.render()
