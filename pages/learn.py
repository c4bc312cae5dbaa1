"""Learn: the equations of each cell beside live charts, why gradients vanish, and one-click lessons."""
from explorer.ui.shell import ensure_shell

ensure_shell()

from explorer.ui import learn_page  # noqa: E402

learn_page.render()
