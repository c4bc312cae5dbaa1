"""RNN Explorer's entrypoint: `streamlit run app.py`. The shared sidebar, then the page from the navigation."""
from explorer.ui.runtime import configure_torch
from explorer.ui.shell import main

configure_torch()
main()
