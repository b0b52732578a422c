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

__all__ = ["plot_long_tail", "plot_comparison", "plot_history", "results_table"]


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


def plot_history(history: Mapping[str, Sequence[float]], ax: Any = None, title: str = "Training") -> Any:
    """Curves of a model's ``history_`` (per-epoch losses and validation metrics)."""
    if not history:
        raise ValueError("`history` is empty: fit the model first (its history_ fills during fit).")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for name, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend()
    return ax
