"""Held-out checks of the real-data tasks (ecg, stocks, csv, music) from a saved run: what a pool process
computes for the Train page, and what a notebook may call on a Run. Not charts and not Streamlit."""
from __future__ import annotations

import torch

from explorer import evaluate
from explorer.tasks.series import compare_to_naive

TUNE_STEPS = 96  # eighth notes generated: 12 bars of a reel


def forecast_check(run) -> dict:
    """Held-out MSE against the naive forecast, the verdict in words, and for ecg the error on normal and
    abnormal beats."""
    mse, naive = evaluate.forecast_scores(run)
    word, sentence = compare_to_naive(mse, naive)
    out = {"mse": mse, "naive": naive, "verdict": word, "sentence": sentence}
    if hasattr(run.task, "anomaly_errors"):
        out["normal"], out["abnormal"] = run.task.anomaly_errors(run.model)
    return out


def tune(run, steps: int = TUNE_STEPS, temperature: float = 1.0, seed: int = 0) -> list[str]:
    """A new tune from the music task's model: `steps` tokens sampled after the start-of-tune token (its notes
    are those before the first end token after a note: explorer.tasks.music.notes)."""
    return evaluate.generate(run, "|", steps, temperature, seed).split()


def checked(state: bytes, what: str, *args) -> dict | list:
    """In a pool process: forecast_check or tune of the run saved in `state` (Run.to_bytes)."""
    from explorer.run import Run  # here: run imports evaluate, which this module's users import first

    run = Run.load(state)
    with torch.no_grad():
        return forecast_check(run) if what == "forecast" else tune(run, *args)


__all__ = ["forecast_check", "tune", "checked"]
