"""Toy sequence tasks by name: the registry TASKS and make_task(). Not models, not training.

Every task is a seeded batch generator with a loss, a metric and its chance level; see base.Task.
"""
from __future__ import annotations

from explorer.tasks.base import IGNORE, Task
from explorer.tasks.forecast import Forecast, Sine, Sunspots
from explorer.tasks.language import Sentiment, Text
from explorer.tasks.memory import Adding, Copy, Recall
from explorer.tasks.music import Music
from explorer.tasks.selective import Induction, SelectiveCopy
from explorer.tasks.series import Csv, Ecg, Stocks
from explorer.tasks.symbolic import Lookahead, Parity
from explorer.tasks.translate import Translate

TASKS: dict[str, type[Task]] = {
    task.name: task for task in (Adding, Copy, Recall, Parity, Sine, Sunspots, Text, Sentiment, Lookahead,
                                SelectiveCopy, Induction, Csv, Ecg, Stocks, Music, Translate)
}


def make_task(name: str, seq_len: int, series=None) -> Task:
    """The task called `name` with sequences of seq_len steps; ValueError on an unknown name.
    `series`: the csv task's values (its stand-in example when None); no other task takes one."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    if series is not None:
        if name != Csv.name:
            raise ValueError(f"series is for the {Csv.name} task only; this task is {name!r}")
        return Csv(seq_len, series)
    return TASKS[name](seq_len)


__all__ = [
    "IGNORE", "Task", "TASKS", "make_task", "Forecast",
    "Adding", "Copy", "Recall", "Parity", "Sine", "Sunspots", "Text", "Sentiment", "Lookahead",
    "SelectiveCopy", "Induction", "Csv", "Ecg", "Stocks", "Music", "Translate",
]
