"""Notebook 00's graded exercises, sandbox side: recall@k, NDCG@k and the popularity model."""

from __future__ import annotations

import numpy as np

import course_lib
from course_lib import checks
from course_lib.grading.probes import Probe, number, to_numpy


def ranking_cases(seed: int) -> list[tuple[list[int], set[int], int]]:
    """64 (ranked, relevant, k) cases: 60 random ones (relevant sets of 0 to 9 items, k of 1 to 15)
    and four edges (k past the list, every item relevant, k = 1, the hit last)."""
    rng = np.random.default_rng(seed)
    cases = [(rng.permutation(40)[:15].tolist(),
              set(rng.choice(40, size=int(rng.integers(0, 10)), replace=False).tolist()),
              int(rng.integers(1, 16))) for _ in range(60)]
    return cases + [([3, 1], {1, 3, 9}, 10), ([1, 2], {1, 2, 3}, 10), ([5, 1, 2], {1}, 1), ([4, 8, 15], {15}, 3)]


# Ids as NumPy integers, an empty relevant set, a hit only past k: (ranked, relevant, k) per name.
EDGE_CASES = {
    "numpy_ids": (list(np.array([4, 8, 15])), {8, 99}, 2),
    "nothing_relevant": ([1, 2, 3], set(), 2),
    "hit_past_k": ([1, 2, 3, 4], {4}, 3),
    "top_hit": ([7, 1, 2], {7}, 3),
}


def _ranking(name: str, seed: int):
    def run(namespace, inputs):
        metric = namespace[name]
        outputs = {"values": [number(metric(list(ranked), set(relevant), k)) for ranked, relevant, k in ranking_cases(seed)]}
        for key, (ranked, relevant, k) in EDGE_CASES.items():
            outputs[key] = number(metric(ranked, set(relevant), k))
        return outputs
    return run


def popularity_data():
    """The small data set the popularity model is fitted on, and a larger one (every user scored)."""
    return (course_lib.make_synthetic(n_users=40, n_items=30, mean_per_user=8, min_per_user=2, seed=11),
            course_lib.make_synthetic(n_users=300, n_items=120, mean_per_user=15, min_per_user=3, seed=12))


POPULARITY_USERS = np.array([0, 7, 39])


def _popularity(namespace, inputs):
    model_class = namespace["MostPopular"]
    small, large = popularity_data()
    scores = model_class().fit(small).score(POPULARITY_USERS.copy())
    model = model_class().fit(large)
    every = to_numpy(model.score(np.arange(large.n_users)))
    one = to_numpy(model.score(np.array([3])))
    again = to_numpy(model.score(np.arange(large.n_users)))
    return {"scores": np.asarray(to_numpy(scores), dtype=np.float64), "every": every, "one": one, "again": again}


PROBES = {
    "recall_at_k_tests": Probe(("recall_at_k",), _ranking("recall_at_k", 2024),
                               visible=lambda ns, inputs: checks.check_recall_at_k(ns["recall_at_k"])),
    "ndcg_at_k_tests": Probe(("ndcg_at_k",), _ranking("ndcg_at_k", 2025),
                             visible=lambda ns, inputs: checks.check_ndcg_at_k(ns["ndcg_at_k"])),
    "most_popular_tests": Probe(("MostPopular",), _popularity,
                                visible=lambda ns, inputs: checks.check_popularity(ns["MostPopular"])),
}
