"""Plots the notebooks show: the long tail, model comparisons, training curves.

Each function draws on a Matplotlib ``ax`` (a new figure when none is given) and returns it, so a
notebook can adjust titles or combine plots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from course_lib.data.interactions import Interactions

__all__ = ["plot_long_tail", "plot_comparison", "plot_history", "results_table", "TIMING_KEYS",
           "plot_histories"]


def plot_long_tail(data: Interactions, head_share: float = 0.5, ax: Any = None, log: bool = False) -> Any:
    """Item popularity sorted from the most to the least rated, with the short head marked.

    The short head is the smallest set of most popular items that together collect
    ``head_share`` of all interactions; the rest is the long tail.
    """
    if not 0 < head_share < 1:
        raise ValueError(f"`head_share` must be between 0 and 1, got {head_share}.")
    counts = np.sort(np.bincount(data.items, minlength=data.n_items))[::-1]
    cumulative = np.cumsum(counts) / max(counts.sum(), 1)
    n_head = int(np.searchsorted(cumulative, head_share) + 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    ranks = np.arange(1, len(counts) + 1)
    ax.fill_between(ranks[:n_head], counts[:n_head], step="post", color="tab:red", alpha=0.6,
                    label=f"short head: {n_head} items ({n_head / len(counts):.1%}) hold {head_share:.0%} of interactions")
    ax.fill_between(ranks[n_head - 1:], counts[n_head - 1:], step="post", color="tab:blue", alpha=0.4,
                    label="long tail")
    ax.set_xlabel("item rank by popularity")
    ax.set_ylabel("interactions")
    if log:
        ax.set_yscale("log")
    ax.set_title(f"Item popularity in {data.name}")
    ax.legend()
    return ax


def results_table(results: Mapping[str, pd.DataFrame], cutoff: int | None = None,
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per model from ``{name: evaluate(...)}``, at one cutoff (the first by default)."""
    if not results:
        raise ValueError("`results` is empty: pass {model name: evaluate(...) result}.")
    rows = {}
    for name, frame in results.items():
        k = frame.index[0] if cutoff is None else cutoff
        if k not in frame.index:
            raise ValueError(f"Cutoff {k} is not in the results of {name!r} (it has {list(frame.index)}).")
        rows[name] = frame.loc[k]
    table = pd.DataFrame(rows).T
    table.index.name = "model"
    if columns is not None:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"Columns {missing} are not in the results; they have {list(table.columns)}.")
        table = table[list(columns)]
    return table


def plot_comparison(results: Mapping[str, pd.DataFrame] | pd.DataFrame,
                    metrics: Sequence[str] = ("precision", "recall", "ndcg", "mrr", "hit_rate"),
                    cutoff: int | None = None, ax: Any = None) -> Any:
    """Grouped bars: one group per metric, one bar per model.

    ``results`` is ``{model name: evaluate(...)}`` or a table from ``results_table``.
    """
    table = results if isinstance(results, pd.DataFrame) else results_table(results, cutoff)
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise ValueError(f"Metrics {missing} are not in the results; they have {list(table.columns)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 1.6 * len(metrics) + 2), 4))
    width = 0.8 / len(table)
    positions = np.arange(len(metrics))
    for offset, (name, row) in enumerate(table.iterrows()):
        bars = ax.bar(positions + offset * width - 0.4 + width / 2, row[list(metrics)].to_numpy(dtype=float),
                      width, label=str(name))
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(positions, [m.replace("_", " ") for m in metrics])
    k = table.attrs.get("cutoff", cutoff)
    ax.set_ylabel("mean over test users" + (f" (at {k})" if k else ""))
    ax.legend(fontsize=8)
    ax.set_title("Model comparison")
    return ax


TIMING_KEYS = ("seconds", "learning_rate")  # per-epoch, but not learning curves


def plot_history(history: Any, ax: Any = None, title: str = "Training", keys: Sequence[str] | None = None) -> Any:
    """Learning curves: one line per per-epoch series of a model's ``history_``, against the epoch.

    ``history`` is a fitted model (its ``history_`` is read) or a ``{name: per-epoch values}``
    mapping such as ``model.history_`` (the schema of ``course_lib.training_loop``): ``loss``,
    ``validation_loss``, ``validation_<metric>[@k]`` or any curves of your own. ``seconds`` and
    ``learning_rate`` are not learning curves and are left out unless named in ``keys``. ``keys`` picks the series to draw, in that order (default: all
    the curves). Each line is labelled with its key; the axes are titled ``title`` and "epoch".
    """
    history = _history_of(history)
    curves = [key for key in history if key not in TIMING_KEYS] if keys is None else list(keys)
    unknown = [key for key in curves if key not in history]
    if unknown:
        raise ValueError(f"{unknown} not in the history; it has {list(history)}.")
    if not curves:
        raise ValueError(f"The history holds no per-epoch curve, only {list(history)}.")
    series = {}
    for key in curves:
        values = np.asarray(history[key], dtype=float) if _is_sequence(history[key]) else None
        if values is None or values.ndim != 1:
            raise ValueError(f"history[{key!r}] should be a list of per-epoch numbers, got {history[key]!r:.80}.")
        series[key] = values
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for key, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_histories(models: Mapping[str, Any], key: str = "loss", ax: Any = None, title: str | None = None,
                   marker: str | None = "o") -> Any:
    """One curve of several models on one axis: ``history_[key]`` of each, labelled with its name.

    ``models`` is ``{name: fitted model or its history_}``, for example a PyTorch model and its
    TensorFlow twin, or one family trained with different settings. A model whose history lacks
    ``key`` is a ValueError that names the model and the keys it has.
    """
    if not models:
        raise ValueError("`models` is empty: pass {name: fitted model (or its history_)}.")
    histories = {name: _history_of(model) for name, model in models.items()}
    missing = {name: list(history) for name, history in histories.items() if key not in history}
    if missing:
        raise ValueError(f"{key!r} is not in the history of {', '.join(map(repr, missing))}; "
                         f"it has {next(iter(missing.values()))}.")
    for name, history in histories.items():
        if not _is_sequence(history[key]) or np.asarray(history[key], dtype=float).ndim != 1:
            raise ValueError(f"history[{key!r}] of {name!r} should be a list of per-epoch numbers.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for name, history in histories.items():
        values = np.asarray(history[key], dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, marker=marker, markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(title if title is not None else key)
    ax.legend(fontsize=8)
    return ax


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))


def _history_of(history: Any) -> Mapping[str, Any]:
    if not isinstance(history, Mapping):
        model = type(history).__name__
        if not hasattr(type(history), "fit"):
            raise TypeError(f"plot_history takes a model's history_ (a dict of per-epoch lists) or the fitted "
                            f"model, got {model}.")
        if not hasattr(history, "history_"):
            raise RuntimeError(f"{model} is not fitted: fit it first (its history_ fills during fit).")
        if not history.history_:
            raise ValueError(f"{model}'s history_ is empty: it records no epoch (it is not trained epoch by "
                             "epoch, or it was fitted with epochs=0).")
        history = history.history_
    if not history:
        raise ValueError("`history` is empty: fit the model first (its history_ fills during fit).")
    return history
