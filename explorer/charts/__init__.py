"""Chart builders: Trace / History (plain numpy) -> plotly figure dict. Pure: no torch, no streamlit.

Every builder returns a titled figure dict ({"data", "layout"}, explorer/charts/figure.py: what plotly.js
draws; `.figure()` gives the go.Figure, `.show()` shows it) with labelled axes, styled from explorer.style, and takes
`scale` (style.LECTURE_SCALE on a projector) to enlarge fonts and heights. CAPTIONS holds the
one line a page shows under each chart: what to look for.
"""
from __future__ import annotations

from explorer.charts.attention import attention_grid, attention_heatmaps
from explorer.charts.compare import accuracy_length_chart, grad_norm_compare_chart, step_time_length_chart
from explorer.charts.geometry import (
    attention_row, eigenvalue_chart, hidden_trajectory, saliency_strip, step_jacobian_chart, step_strips,
)
from explorer.charts.gradients import grad_norm_chart, gradient_flow_heatmap
from explorer.charts.melody import melody_chart
from explorer.charts.forecast import free_running_chart
from explorer.charts.prediction import prediction_chart, softmax
from explorer.charts.shared import share_scales, steady_axes
from explorer.charts.states import cell_state_heatmap, gate_heatmap, gate_heatmaps, hidden_state_heatmap
from explorer.charts.training import loss_chart, loss_compare_chart, param_grad_chart
from explorer.charts.units import next_guesses, unit_text
from explorer.charts.translation import alignment_chart

_FREE_RUNNING = ("the solid line forecasts each step from the true values; the dashed ones start k steps earlier "
                 "and feed the model its own outputs: watch them drift off the target as k grows.")
CAPTIONS: dict[str, str] = {
    "melody_chart": "Each bar is one note of the generated tune, its height the pitch and its length the duration; "
                    "a trained model keeps to a key and repeats short figures, an untrained one jumps at random.",
    "loss_chart": "Loss should fall and the metric leave the dashed chance line; a flat metric at chance "
                  "means the model has not found the signal yet.",
    "loss_compare_chart": "Same task, same budget: the curve that drops first and lowest learned the "
                          "long-range dependency best.",
    "hidden_state_heatmap": "Each row is one unit of h_t; watch for units that switch on at the important "
                            "inputs and hold their value afterwards (memory).",
    "cell_state_heatmap": "c_t is the LSTM's memory: a unit that keeps a steady colour across many steps "
                          "is carrying information forward.",
    "gate_heatmaps": "Sigmoid gates run from 0 (closed) to 1 (open): a forget gate f near 1 keeps the cell, "
                     "an update gate z near 1 keeps the GRU state (minGRU's z near 1 takes the new h~_t instead). "
                     "The SSM's panels are not gates: a large step size Δ forgets the state and writes x_t in, "
                     "||B_t|| and ||C_t|| are how strongly step t writes and reads; each has its own colourbar.",
    "gate_heatmap": "One gate, on its fixed range: look for the time steps where it opens or closes.",
    "grad_norm_chart": "How strongly the loss reaches back to each input step. Black: ||dL/dx_t|| at the input, "
                       "the same measure for every architecture; coloured: at each layer's state h_t (a Transformer: "
                       "at each block's input, block 0 = the embedding). Falling by orders of magnitude towards t=0 "
                       "is a vanishing gradient; climbing is exploding. With truncated BPTT the dotted lines are the "
                       "cuts, every k steps: no gradient crosses one, so a step hears only the losses of its own "
                       "stretch between cuts. Where a stretch scores no step (on adding, copy and recall: every one "
                       "before the last) the lines drop to the floor, exactly zero: the loss cannot reach those inputs.",
    "gradient_flow_heatmap": "Each row is one training step's coloured line from Gradient norm over time (h_t of the "
                             "layer; a Transformer: the block's input): dark at early t means the gradient vanishes "
                             "before it reaches them; watch the band change as training goes on. With truncated BPTT "
                             "the dotted lines are the cuts: left of them stays darkest (zero) however long it trains.",
    "param_grad_chart": "Spikes are exploding gradients; with clipping on, every step above the dashed "
                        "line is scaled back down to it.",
    "prediction_chart": "Where the model is right and where it is not: compare the prediction with the "
                        "target at the scored steps only. When a one-way RNN, LSTM or GRU forecasts a series (sine, sunspots, "
                        "ecg, stocks, your own): " + _FREE_RUNNING,
    "free_running_chart": _FREE_RUNNING[0].upper() + _FREE_RUNNING[1:],
    "attention_heatmaps": "Row t shows where query step t looks: a bright off-diagonal spot means it "
                          "retrieves an earlier input.",
    "attention_grid": "Every layer and head at once: heads that specialise show distinct patterns "
                      "(diagonal, previous token, a fixed key).",
    "hidden_trajectory": "The path of h_t through state space: loops and fixed points show what the network "
                         "has learned to remember.",
    "grad_norm_compare_chart": "||dL/dx_t||, the gradient at each input step, for every architecture alike; dashed "
                               "at init, solid now: the line that stays flat towards t=0 carries the gradient back "
                               "furthest; one that falls steeply forgets early inputs.",
    "accuracy_length_chart": "Where each architecture breaks: its line drops from the solved line towards the "
                             "dashed chance line as the key moves further back.",
    "step_time_length_chart": "The cost of one training step as sequences grow: recurrent steps run one after "
                              "another, attention compares every pair of steps.",
    "eigenvalue_chart": "Eigenvalues outside the unit circle make some directions grow at every step "
                        "(exploding); all well inside make signals fade (vanishing).",
    "saliency_strip": "Which input steps the output at t depends on: for a memory task the bright cells "
                      "should be the ones that hold the answer.",
    "step_strips": "One time step, unit by unit: sigmoid gates near 0 are closed, near 1 open; h_t and c_t "
                   "on a fixed diverging scale (white = 0). Press Play and watch which units change.",
    "step_jacobian_chart": "How much one step stretches or shrinks the state: the gradient reaching back k steps "
                           "is bounded by the product of k of these norms, so a norm below 1 everywhere means "
                           "the Train page's Gradient norm over time falls off exponentially (vanishing), above 1 "
                           "it can explode.",
    "unit_text": "One unit's value under each character (blue below 0, red above): a unit that tracks a feature "
                 "changes colour where the feature does, e.g. inside and outside quotes.",
    "next_guesses": "What the model expects next: under each character its five likeliest next characters; after "
                    "a few hundred steps spaces come first, then the ends of common words.",
    "alignment_chart": "Row u shows which source words the decoder looked at to write the u-th digit: early in "
                       "training the weight spreads over every word; as it learns, each digit's row lights up its own "
                       "word, and the bright cells run down a diagonal band from top left (the digits come in the "
                       "order of their words). The title says what greedy decoding wrote.",
    "attention_row": "Where query step t looks, head by head: a bright cell far from t means the output at t "
                     "reads that earlier input directly, with no chain of steps in between.",
}

__all__ = [
    "CAPTIONS", "attention_grid", "attention_heatmaps", "cell_state_heatmap", "eigenvalue_chart",
    "free_running_chart", "gate_heatmap", "gate_heatmaps", "grad_norm_chart", "gradient_flow_heatmap", "hidden_state_heatmap",
    "hidden_trajectory", "loss_chart", "loss_compare_chart", "param_grad_chart", "prediction_chart",
    "saliency_strip", "share_scales", "softmax", "steady_axes", "attention_row", "step_jacobian_chart", "step_strips",
    "accuracy_length_chart", "grad_norm_compare_chart", "step_time_length_chart", "next_guesses", "unit_text",
    "melody_chart", "alignment_chart",
]
