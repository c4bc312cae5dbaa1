"""RNN Explorer's entrypoint: `streamlit run app.py`. The shared sidebar, then the page from the navigation."""
from explorer.ui.runtime import configure_torch, set_plotly_checks
from explorer.ui.shell import main

configure_torch()
set_plotly_checks(False)  # tests prove the figures are identical; 3x faster to build
main()
