"""The models of the benchmark, each with the protocol its notebook uses.

A protocol loads the data set, splits it, fits the model (timed), and evaluates it (timed). Every
entry of ``MODELS`` is ``name -> (framework, protocol, factory)``; the factory returns an unfitted
recommender and imports its framework only when called.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import course_lib


def _ranking(factory: Callable, dataset: str, seed: int) -> dict:
    """Global random 80/20, all ratings positive, training items excluded, metrics at 10."""
    data = course_lib.load_dataset(dataset)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=seed)
    model = factory()
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = course_lib.evaluate(model, train, test, cutoffs=10)
    evaluate_seconds = time.perf_counter() - started
    row = result.loc[10]
    return {"protocol": "random 80/20, top-10", "metric": "ndcg@10", "value": float(row["ndcg"]),
            "other_metrics": {"recall@10": float(row["recall"]), "hit_rate@10": float(row["hit_rate"])},
            "fit_seconds": fit_seconds, "evaluate_seconds": evaluate_seconds}


PROTOCOLS = {"ranking": _ranking}


def _baseline(name: str) -> Callable:
    return lambda: getattr(course_lib, name)()


MODELS: dict[str, tuple[str, str, Callable]] = {
    "Random": ("numpy", "ranking", _baseline("Random")),
    "Popularity": ("numpy", "ranking", _baseline("Popularity")),
    "ItemKNN": ("numpy", "ranking", _baseline("ItemKNN")),
}


def run_model(name: str, dataset: str, seed: int) -> dict:
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; the benchmark knows {sorted(MODELS)}.")
    course_lib.seed_everything(seed)
    framework, protocol, factory = MODELS[name]
    result = PROTOCOLS[protocol](factory, dataset, seed)
    result.update(model=name, framework=framework)
    return result
