"""Baselines on a real data set and the throughput of `evaluate`.

    python bench/evaluation_benchmark.py [--dataset ml-100k] [--seed 42] [--repeats 5]

Prints Random, Popularity and ItemKNN at cutoff 10 on the global random 80/20 split (all ratings
as positives, training items excluded), their fit times, and `evaluate`'s throughput in users per
second, also for a model whose scores are a precomputed dense matrix (the bound that scoring
cost does not hide). Timings are the best of ``--repeats`` runs: this machine is shared.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd

import course_lib
from course_lib.baselines import ItemKNN, Popularity, Random


class DenseScores:
    """Scores read from a fixed (n_users, n_items) matrix: evaluate's cost without a model's."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user_ids: np.ndarray) -> np.ndarray:
        return self.scores[user_ids]


def best_time(function, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()

    data = course_lib.load_dataset(arguments.dataset)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=arguments.seed)
    print(f"{data.name}: {data.n_users} users, {data.n_items} items, {len(data):,} interactions; "
          f"train {len(train):,}, test {len(test):,}; seed {arguments.seed}")
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}\n")

    rows = []
    models = {"Random": Random(seed=arguments.seed), "Popularity": Popularity(), "ItemKNN": ItemKNN()}
    for name, model in models.items():
        fit_seconds, _ = best_time(lambda model=model: model.fit(train), arguments.repeats)
        eval_seconds, result = best_time(lambda model=model: course_lib.evaluate(model, train, test, cutoffs=10),
                                         arguments.repeats)
        row = result.loc[10, ["precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage"]].to_dict()
        row.update(model=name, fit_s=fit_seconds, evaluate_s=eval_seconds,
                   users_per_s=result.attrs["n_users_evaluated"] / eval_seconds)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    print(table.to_string(float_format=lambda v: f"{v:.4f}" if v < 100 else f"{v:,.0f}"))

    scores = np.random.default_rng(arguments.seed).random(data.shape, dtype=np.float32)
    dense_seconds, result = best_time(
        lambda: course_lib.evaluate(DenseScores(scores), train, test, cutoffs=10), arguments.repeats)
    print(f"\nevaluate on a dense score matrix: {result.attrs['n_users_evaluated']} users in "
          f"{dense_seconds * 1000:.1f} ms = {result.attrs['n_users_evaluated'] / dense_seconds:,.0f} users/s")


if __name__ == "__main__":
    main()
