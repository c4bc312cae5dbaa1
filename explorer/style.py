"""Visual constants in one place: colour scales, fixed ranges, fonts and sizes. Not chart code.

A gate, a state or an architecture has the same colour on every page because it comes from here.
Plain Python only: no figures, no torch, no streamlit (plotly's colour tables give the scales' colours).
"""
from __future__ import annotations

from plotly.colors import get_colorscale

from explorer.cells import CELLS
from explorer.cells import GATES as GATE_TABLE

# Fonts: legible from the back of a lecture hall on a projector; charts multiply by `scale`.
FONT_FAMILY = "Inter, 'Helvetica Neue', Helvetica, Arial, sans-serif"
FONT_SIZE = 17  # px, axis titles, ticks, legends
TITLE_SIZE = 22  # px, chart titles
SUBPLOT_TITLE_SIZE = 18  # px, panel titles inside a figure
TEXT_COLOUR = "#1f2328"
MUTED_COLOUR = "#6e7781"  # notes, reference lines
GRID_COLOUR = "#e5e7eb"
LECTURE_SCALE = 1.35  # pages pass scale=LECTURE_SCALE in projector mode

# Heights in px at scale 1.
HEIGHT = 380  # line charts and single heatmaps
PANEL_HEIGHT = 230  # each row of a multi-panel figure (gates, attention)
SMALL_PANEL_HEIGHT = 190  # each row of the attention grid
MARGIN = dict(l=70, r=30, t=80, b=60)
SCREEN_HEIGHT = 620  # px after scaling: the tallest chart that fits a 1280x720 projector screen under the page header
TITLE_LINE_CHARS = 38  # characters of a title per line at scale 1 (a half-width chart); scaled titles wrap sooner

TOKEN_TICKS_MAX_T = 24  # input tokens label the time axis, every one up to this many steps, every k-th past it
TOKEN_MAX_CHARS = 6  # longer tokens are shortened in tick labels (hover shows them whole)

# Colour scales, as explicit [position, colour] lists: plotly.js knows fewer names than plotly.py (no "_r"
# suffix, no Inferno, Purples or Oranges, and its Blues runs the other way) and draws its default RdBu, with a
# grey middle, for a name it does not know. A list draws the same in the browser, the notebook and a PNG.
def _scale(name: str) -> list[list]:
    return [[float(position), colour] for position, colour in get_colorscale(name)]


# Sigmoid gates share one sequential scale on a fixed [0, 1]: 0 = closed, 1 = open.
SIGMOID_SCALE = _scale("Viridis")
# tanh values (h_t, g, n, c_t) share one diverging scale, 0 = white, blue < 0 < red.
DIVERGING_SCALE = _scale("RdBu_r")
TANH_RANGE = (-1.0, 1.0)
ATTENTION_SCALE = _scale("Purples")  # attention weights, fixed [0, 1]
ATTENTION_RANGE = (0.0, 1.0)
PROBABILITY_SCALE = _scale("Blues")  # predicted class probabilities, fixed [0, 1]
GRADIENT_SCALE = _scale("Inferno")  # log10 ||dL/dh_t||: dark = vanished, bright = large
TIME_SCALE = _scale("Cividis")  # colour by time step in trajectories
SALIENCY_SCALE = _scale("Oranges")

# Gradient magnitudes span 1e-30 to 1e30 on a log axis; zeros are drawn at the floor.
GRAD_FLOOR = 1e-30
GRAD_CEIL = 1e30
CUT_COLOUR = "#6e7781"  # truncated BPTT's cuts on a line chart (grey: not a series)
CUT_COLOUR_ON_HEATMAP = "#56B4E9"  # and on Gradient flow's dark-to-bright scale, where grey hides
MAX_CUT_LINES = 40  # more cuts than this (k = 1 on long sequences) are said, not drawn

# Architecture colours (Okabe-Ito, safe for colour-blind viewers), used on every page.
ARCH_COLOURS = {
    "rnn": "#E69F00",
    "lstm": "#0072B2",
    "gru": "#009E73",
    "transformer": "#CC79A7",
    "mingru": "#56B4E9",
    "minlstm": "#D55E00",
    "ssm": "#000000",
}
ARCH_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "transformer": "Transformer",
               "mingru": "minGRU", "minlstm": "minLSTM", "ssm": "SSM (selective)"}
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LOSS_COLOUR = "#1f2328"
METRIC_COLOUR = "#D55E00"
TARGET_COLOUR = "#1f2328"
PREDICTION_COLOUR = "#0072B2"
CORRECT_COLOUR = "#0072B2"  # blue / orange, not green / red: readable for colour-blind viewers
WRONG_COLOUR = "#D55E00"
OTHER_CLASS_COLOUR = "#c7ccd1"
DIRECTION_DASH = {0: "solid", 1: "dot"}  # forward, reverse
DIRECTION_NAMES = ("forward", "reverse")

# Gates: the cell table (explorer/cells.py) owns their names, order and ranges; these are its views.
GATES = {arch: cell.gates for arch, cell in CELLS.items() if cell.gates}
GATE_RANGES = {name: gate.range for name, gate in GATE_TABLE.items()}
GATE_NAMES = {name: gate.long_name for name, gate in GATE_TABLE.items()}
SELECTION_GATES = tuple(name for name, gate in GATE_TABLE.items() if gate.selection)
DATA_RANGE_GATES = tuple(name for name, gate in GATE_TABLE.items() if gate.data_range)


def arch_colour(name: str, default: str = SERIES_COLOURS[0]) -> str:
    """The colour of the architecture named in `name` ("lstm", "GRU run 2", ...), else `default`."""
    lowered = name.lower()
    for arch in ("transformer", "minlstm", "mingru", "ssm", "lstm", "gru", "rnn"):  # a name before any inside it
        if arch in lowered:
            return ARCH_COLOURS[arch]
    return default


def gate_scale(gate: str) -> str:
    """Colour scale of a gate: sequential for sigmoid gates, diverging for tanh ones."""
    return DIVERGING_SCALE if GATE_RANGES[gate][0] < 0 else SIGMOID_SCALE
