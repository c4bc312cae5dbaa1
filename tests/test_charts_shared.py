"""Side-by-side charts share their scales: the same chart of several runs on one axis range, colour range and size.

Figure dicts here (the form the browser draws), not go.Figure: share_scales works on what the pages send.
"""
from __future__ import annotations

import numpy as np

from explorer import charts
from tests.test_charts import make_history, make_trace



def test_side_by_side_charts_share_axis_ranges_colour_ranges_and_heights():
    # the lesson's point must not hide in tick labels: RNN 1e-22..1e-1 beside LSTM 1e-6..1e-1 becomes one range
    rnn, lstm = make_trace("rnn"), make_trace("lstm", L=2, D=2)
    rnn.grad_norm[0, 0] = 10.0 ** np.linspace(-22, -1, 12)
    lstm.grad_norm[:] = 10.0 ** np.linspace(-6, -1, 12)
    pair = charts.share_scales([charts.grad_norm_chart(rnn), charts.grad_norm_chart(lstm)])
    (a, b) = (p["layout"]["yaxis"] for p in pair)
    assert a["range"] == b["range"] and a["range"][0] <= -22 and a["range"][1] >= -1
    assert a["tickvals"] == b["tickvals"]
    assert pair[0]["layout"]["height"] == pair[1]["layout"]["height"]  # the LSTM's legend is taller
    assert pair[0]["layout"]["margin"] == pair[1]["layout"]["margin"]
    h1, h2 = make_history(profile_steps=(0, 10)), make_history(profile_steps=(0, 10))
    h2.profiles[-1][1][:] = 1e-20
    flows = charts.share_scales([charts.gradient_flow_heatmap(h1), charts.gradient_flow_heatmap(h2)])
    z = [(f["data"][0]["zmin"], f["data"][0]["zmax"]) for f in flows]
    assert z[0] == z[1] and z[0][0] <= -20
    assert flows[0]["data"][0]["colorbar"]["tickvals"] == flows[1]["data"][0]["colorbar"]["tickvals"]
