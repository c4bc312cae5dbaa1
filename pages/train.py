"""Train: press Train and watch the model learn from the inside."""
from explorer.ui.shell import ensure_shell

ensure_shell()

from explorer.ui import train_page  # noqa: E402

train_page.render()
