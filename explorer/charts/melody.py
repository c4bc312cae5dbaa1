"""A generated melody as notes: a piano roll (pitch over time, one bar per note). Pure: plain lists in, figure out."""
from __future__ import annotations

from explorer import style
from explorer.charts import figure
from explorer.charts._common import finish, message_figure
from explorer.charts.figure import FigureDict

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def _name(midi: int) -> str:
    return f"{PITCH_CLASSES[midi % 12]}{midi // 12 - 1}"


def melody_chart(notes: list[tuple[int | None, int]], *, title: str = "Generated tune", scale: float = 1.0) -> FigureDict:
    """notes: (MIDI pitch or None for a rest, length in eighths), in order -> a piano roll."""
    played = [(start, pitch, length) for start, (pitch, length) in zip(_starts(notes), notes) if pitch is not None]
    if not played:
        return message_figure(title, "No notes yet: train, then press Generate.", scale=scale,
                              xlabel="time (eighth notes)", ylabel="pitch")
    fig = figure.new()
    fig.add_trace(figure.bar(
        base=[s for s, _, _ in played], x=[n for _, _, n in played], y=[p for _, p, _ in played], orientation="h",
        width=0.8, marker=dict(color=style.PREDICTION_COLOUR), text=[_name(p) for _, p, _ in played],
        textposition="none",
        hovertemplate="%{text} from eighth %{base}, %{x} eighth(s) long<extra></extra>", name="notes",
    ))
    low, high = min(p for _, p, _ in played), max(p for _, p, _ in played)
    # one label per natural note over an octave and a half, else C and G only: a label per semitone would overlap
    shown = (0, 2, 4, 5, 7, 9, 11) if high - low <= 18 else (0, 7)
    ticks = [p for p in range(low - 1, high + 2) if p % 12 in shown]
    fig.update_yaxes(title_text="pitch", tickvals=ticks, ticktext=[_name(p) for p in ticks], range=[low - 1.5, high + 1.5])
    fig.update_xaxes(title_text="time (eighth notes)", dtick=8)
    return finish(fig, title, scale=scale, height=style.HEIGHT + 60, legend=False)


def _starts(notes: list[tuple[int | None, int]]) -> list[int]:
    starts, t = [], 0
    for _, length in notes:
        starts.append(t)
        t += length
    return starts
