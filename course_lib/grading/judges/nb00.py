"""Notebook 00's hidden tests, judged in the grader: recall@k, NDCG@k and the popularity model."""

from __future__ import annotations

import numpy as np

from course_lib import metrics
from course_lib.baselines import Popularity
from course_lib.grading.judges import Judge, expect, expect_close, expect_shape
from course_lib.grading.probes.nb00 import EDGE_CASES, POPULARITY_USERS, popularity_data, ranking_cases


def _ranking(name: str, reference, seed: int) -> Judge:
    def check(outputs, context):
        cases = ranking_cases(seed)
        expected = [reference(*case) for case in cases]
        expect_close(outputs["values"], expected, f"{name} on random rankings", rtol=1e-9, atol=1e-12,
                     describe=lambda i: f"{name}({cases[i][0]}, {sorted(cases[i][1])}, k={cases[i][2]})")
        for key, (ranked, relevant, k) in EDGE_CASES.items():
            expect_close(outputs[key], reference(ranked, relevant, k), f"{name}({list(map(int, ranked))}, "
                         f"{sorted(relevant)}, k={k})", rtol=1e-9, atol=1e-12)
    return Judge(check)


def _popularity(outputs, context):
    small, large = popularity_data()
    expected = Popularity().fit(small).score(POPULARITY_USERS)
    scores = expect_shape(outputs["scores"], (3, small.n_items), "MostPopular().fit(data).score(3 users)")
    expect_close(scores, expected, "MostPopular's scores on a small data set", rtol=1e-9, atol=1e-12)
    every = expect_shape(outputs["every"], (large.n_users, large.n_items), "score(every user)")
    expect(np.allclose(every, every[:1]), "score(every user) gives users different scores: popularity is the same "
                                          "for everyone")
    expect_shape(outputs["one"], (1, large.n_items), "score(one user)")
    expect(np.allclose(outputs["one"], every[:1]), "score of one user differs from that user's row of score(every user)")
    expect(np.array_equal(outputs["again"], every), "a second score(every user) differs from the first: "
                                                    "score must not change the fitted model")


JUDGES = {
    "recall_at_k_tests": _ranking("recall_at_k", metrics.recall_at_k, 2024),
    "ndcg_at_k_tests": _ranking("ndcg_at_k", metrics.ndcg_at_k, 2025),
    "most_popular_tests": Judge(_popularity),
}
