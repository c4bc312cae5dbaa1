"""RNN Explorer's entrypoint: `streamlit run app.py`.

Streamlit imports this file once to find the server (`app`: Streamlit's own routes, and the live charts'
feed beside them), then runs it as the script of every page run: the shared sidebar, then the page from
the navigation."""
import streamlit as st

if __name__ == "__main__":  # a page run
    from explorer.ui.runtime import configure_torch
    from explorer.ui.shell import main

    configure_torch()
    main()
else:  # the server
    from starlette.middleware import Middleware

    from explorer.ui import feed, replica

    route = replica.route()  # behind deploy/'s nginx: this replica's name, which its answers set in a cookie
    app = st.App(__file__, routes=feed.routes(st.get_option("server.baseUrlPath")),
                 middleware=[Middleware(replica.RouteCookie, route=route)] if route else None)
