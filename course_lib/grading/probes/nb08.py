"""Notebook 08's graded exercises, sandbox side: the mean-pooling network, causal attention and the challenge.

The network and the attention run on the grader's own seeded inputs. The challenge fits the student's
class on the training sequences of the grader's split by users (``inputs``: ``sequences``, ``user_ids``,
``n_items``) within ``CHALLENGE_SECONDS``, and scores ``test_inputs``: the items the test sequences let a
model read, never their targets (the judge keeps them). It hands back, for each test sequence, the rank
every item would have if it were the target (``1 + #{items scored at least as high}``, the convention of
``course_lib.sequences.next_item_ranks``): what the mean reciprocal rank needs, and no scores.
"""

from __future__ import annotations

import time

import numpy as np

from course_lib import checks
from course_lib.checks.sequence_models import CHALLENGE_SECONDS
from course_lib.grading.probes import Probe, to_numpy
from course_lib.grading.probes._rng import kept_global_states, torch_seeded

# --------------------------------------------------------------------------- MeanPoolingNet

POOLING_ITEMS, POOLING_DIM = 300, 8
EDGE_SEQUENCES = [[0, 0, 0], [0, 3, 3], [0, 0, 3]]


def pooling_inputs() -> np.ndarray:
    """Five padded sequences of 9 items (ids 1..POOLING_ITEMS, 0 = padding), of 9, 6, 3, 1 and 8 items."""
    rng = np.random.default_rng(8)
    sequences = rng.integers(1, POOLING_ITEMS + 1, size=(5, 9))
    for row, length in enumerate((9, 6, 3, 1, 8)):
        sequences[row, :9 - length] = 0
    return sequences


def _mean_pooling(namespace, inputs):
    import torch

    network_class = namespace["MeanPoolingNet"]
    with torch_seeded(0):
        network = network_class(POOLING_ITEMS, POOLING_DIM)
        output = network(torch.as_tensor(pooling_inputs()))
        edge = network(torch.tensor(EDGE_SEQUENCES))
    return {"out": np.asarray(to_numpy(output), dtype=np.float64),
            "out_requires_grad": bool(getattr(output, "requires_grad", False)),
            "edge": np.asarray(to_numpy(edge), dtype=np.float64)}


# --------------------------------------------------------------------------- causal_attention

def attention_inputs():
    """(3, 7, 8) queries (also the keys and values), the same with the last position moved, a (2, 1, 4)
    single position and (2, 40, 8) long sequences, seeded."""
    import torch

    generator = torch.Generator().manual_seed(8)
    queries = torch.randn(3, 7, 8, generator=generator)
    changed = queries.clone()
    changed[:, -1] += 1.0
    single = torch.randn(2, 1, 4, generator=generator)
    long = torch.randn(2, 40, 8, generator=generator)
    return queries, changed, single, long


def _causal_attention(namespace, inputs):
    attention = namespace["causal_attention"]
    outputs = {}
    with kept_global_states():
        for name, tensor in zip(("out", "changed", "single", "long"), attention_inputs(), strict=True):
            outputs[name] = np.asarray(to_numpy(attention(tensor, tensor.clone(), tensor.clone())), dtype=np.float64)
    return outputs


# --------------------------------------------------------------------------- the challenge

CHALLENGE_INPUTS = ("sequences", "user_ids", "n_items", "test_inputs")
SCORE_BATCH = 4096          # sequences scored at once, as course_lib.sequences.evaluate_next_item does


def item_ranks(scores: np.ndarray) -> np.ndarray:
    """For each row, the rank of every item as a target: ``1 + #{other items scored >= it}``."""
    scores = np.asarray(scores, dtype=np.float64)        # exact for float32 and integer scores
    n_rows, n_items = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)                     # descending
    last_of_tie = np.ones_like(ordered, dtype=bool)
    last_of_tie[:, :-1] = ordered[:, 1:] != ordered[:, :-1]
    positions = np.where(last_of_tie, np.arange(n_items), n_items)
    run_end = np.minimum.accumulate(positions[:, ::-1], axis=1)[:, ::-1]    # the last position of each tie
    ranks = np.empty((n_rows, n_items), dtype=np.int16 if n_items < 2 ** 15 else np.int32)
    np.put_along_axis(ranks, order, run_end + 1, axis=1)
    return ranks


def training_sequences(inputs):
    from course_lib.sequences import SequenceData

    return SequenceData(np.array(inputs["sequences"], dtype=np.int64), np.array(inputs["user_ids"], dtype=np.int64),
                        int(inputs["n_items"]))


def _challenge(namespace, inputs):
    from course_lib.checks._common import _quiet, _time_limit, _TimeLimitExceeded

    model_class = namespace["NextItemModel"]
    train = training_sequences(inputs)
    test_inputs = np.array(inputs["test_inputs"], dtype=np.int64)
    outputs = {"timed_out": False, "batch_rows": 0, "batch_shape": np.zeros(0, dtype=np.int64), "finite": True,
               "ranks": np.zeros((0, train.n_items), dtype=np.int16)}
    started = time.perf_counter()
    try:
        with kept_global_states(), _quiet(), _time_limit(CHALLENGE_SECONDS):
            model = model_class()
            fitted = model.fit(train)
            model = model if fitted is None else fitted
            parts = []
            for start in range(0, len(test_inputs), SCORE_BATCH):
                batch = test_inputs[start:start + SCORE_BATCH]
                scores = np.asarray(to_numpy(model.score(batch.copy())))
                outputs["batch_rows"], outputs["batch_shape"] = len(batch), np.asarray(scores.shape, dtype=np.int64)
                if scores.shape != (len(batch), train.n_items):
                    return {**outputs, "seconds": time.perf_counter() - started}
                if not np.issubdtype(scores.dtype, np.number) or not np.isfinite(scores).all():
                    return {**outputs, "finite": False, "seconds": time.perf_counter() - started}
                parts.append(item_ranks(scores))
    except _TimeLimitExceeded:
        return {**outputs, "timed_out": True, "seconds": time.perf_counter() - started}
    return {**outputs, "ranks": np.concatenate(parts), "seconds": time.perf_counter() - started}


PROBES = {
    "nb08_mean_pooling_tests": Probe(("MeanPoolingNet",), _mean_pooling, seconds=30,
                                     visible=lambda ns, inputs: checks.check_mean_pooling_net(ns["MeanPoolingNet"])),
    "nb08_causal_attention_tests": Probe(("causal_attention",), _causal_attention, seconds=30,
                                         visible=lambda ns, inputs: checks.check_causal_attention(
                                             ns["causal_attention"])),
    "nb08_challenge_tests": Probe(("NextItemModel",), _challenge, visible=None, inputs=CHALLENGE_INPUTS,
                                  seconds=CHALLENGE_SECONDS + 60),
}
