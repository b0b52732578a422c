"""The grader judges in worker threads: a judge whose reference seeds and draws from PyTorch's or
NumPy's global generators must give the same verdict when others judge at the same time."""

from __future__ import annotations

import concurrent.futures

from course_lib.grading import judges
from course_lib.grading.probes import decode, encode
from tests.grading.judge_helpers import namespace_of

CASES = [("01_mlp_basics", "nb01_train_one_epoch_tests"), ("02_autoencoders", "nb02_corruption_and_loss_tests"),
         ("06_latent_factors", "nb06_rmse_training_tests")]


def test_judges_in_parallel_threads_agree():
    context = judges.Context()
    outputs = {}
    for notebook, grade_id in CASES:
        probe, _ = judges.exercises(notebook)[grade_id]
        outputs[grade_id] = decode(encode(probe.run(namespace_of(notebook), {})))

    def verdict(case):
        notebook, grade_id = case
        try:
            return judges.judge(notebook, grade_id, outputs[grade_id], context)
        except judges.Failed as failure:
            return str(failure)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(verdict, CASES * 4))
    assert results == [1.0] * len(results)
