"""Notebook 08's hidden tests, judged in the grader: the mean-pooling network, causal attention and the challenge.

The challenge: the grader cuts the notebook's data set into sequences of ``MAX_LENGTH`` items and splits
them by user (``SPLIT_SEED``, a seed the notebook never uses: the hidden test's ``SEED + 9173``). The
probe gets the training sequences and the items the test sequences let a model read; their targets stay
here. The mean reciprocal rank of the targets earns the points at ``CHALLENGE_THRESHOLDS`` (all of them
at the second): the judge returns the share of the cell's points (1.0 or 0.5), or raises ``Failed``
below the first threshold.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.sequence_models import CHALLENGE_SECONDS, CHALLENGE_THRESHOLDS
from course_lib.grading.judges import Failed, Judge, expect, expect_close, expect_in_time, expect_shape
from course_lib.grading.probes.nb08 import (
    EDGE_SEQUENCES,
    POOLING_DIM,
    POOLING_ITEMS,
    attention_inputs,
    pooling_inputs,
)

SPLIT_SEED = 42 + 9173       # the hidden test's split: SEED + 9173
MAX_LENGTH = 10              # the notebook's MAX_LENGTH
TEST_FRACTION = 0.2
IMPLAUSIBLE_MRR = 0.5        # no honest model comes near it on these data sets

# --------------------------------------------------------------------------- MeanPoolingNet

_NETWORK = f"MeanPoolingNet({POOLING_ITEMS}, {POOLING_DIM})"


def _mean_pooling(outputs, context):
    rows = len(pooling_inputs())
    out = np.asarray(outputs["out"])
    what = f"{_NETWORK} on {rows} padded sequences of 9 ids"
    if out.shape == (rows, POOLING_ITEMS + 1):
        raise Failed(f"{what} returned {POOLING_ITEMS + 1} columns: the padding id 0 is not an item; output one "
                     "logit per real item (column j for item id j + 1)")
    if out.ndim == 3:
        raise Failed(f"{what} returned shape {out.shape}, one row per position: pool (average) over the positions")
    expect_shape(out, (rows, POOLING_ITEMS), what)
    expect(np.isfinite(out).all(), f"{what}: the logits hold NaN or infinite values")
    edge = expect_shape(outputs["edge"], (len(EDGE_SEQUENCES), POOLING_ITEMS), f"{_NETWORK} on {EDGE_SEQUENCES}")
    expect(np.isfinite(edge[0]).all(), f"{_NETWORK} on the sequence {EDGE_SEQUENCES[0]} (padding only) gave NaN or "
                                       "infinite logits (0 / 0): keep the divisor at least 1, e.g. count.clamp(min=1)")
    expect(np.isfinite(edge).all(), f"{_NETWORK} on {EDGE_SEQUENCES}: the logits hold NaN or infinite values")
    expect(np.allclose(edge[1], edge[2], atol=1e-5),
           f"{_NETWORK} gives {EDGE_SEQUENCES[1]} (item 3 twice) another output than {EDGE_SEQUENCES[2]} (item 3 "
           "once): average the embeddings of the real items only (ids > 0; padding_idx=0 keeps the padding row at "
           "zero), dividing by their number, not by the length of the padded sequence")
    expect(bool(outputs["out_requires_grad"]), f"{what}: the logits carry no gradient: no torch.no_grad() or "
                                               ".detach() in forward")


# --------------------------------------------------------------------------- causal_attention

def _reference(tensor) -> np.ndarray:
    from course_lib.checks.sequence_models import _reference_attention

    return _reference_attention(tensor, tensor, tensor).double().numpy()


def _unscaled(tensor) -> np.ndarray:
    import torch

    length = tensor.shape[1]
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    scores = (tensor @ tensor.transpose(-1, -2)).masked_fill(~allowed, float("-inf"))
    return (scores.softmax(-1) @ tensor).double().numpy()


def _causal_attention(outputs, context):
    queries, changed, single, long = attention_inputs()
    call = "causal_attention(x, x, x)"
    out = expect_shape(outputs["out"], tuple(queries.shape), f"{call} on x of shape {tuple(queries.shape)}")
    moved = expect_shape(outputs["changed"], tuple(changed.shape), f"{call} on x of shape {tuple(changed.shape)}")
    expect(np.isfinite(out).all(), f"{call} on x of shape {tuple(queries.shape)} holds NaN or infinite values: each "
                                   "position must see itself (keep the diagonal: j <= i)")
    expect(np.allclose(moved[:, :-1], out[:, :-1], atol=1e-5),
           f"{call}: adding 1 to the last position of x (shape {tuple(queries.shape)}) changed the outputs of the "
           "earlier positions: position i may attend to j <= i only (torch.tril), the other scores set to -inf "
           "before a softmax over the keys (the last axis)")
    one = expect_shape(outputs["single"], tuple(single.shape), f"{call} on x of shape {tuple(single.shape)}")
    expect(np.allclose(one, single.double().numpy(), atol=1e-6),
           f"{call} on sequences of one position (shape {tuple(single.shape)}) does not return x: a single position "
           "sees only itself, with weight 1")
    many = expect_shape(outputs["long"], tuple(long.shape), f"{call} on x of shape {tuple(long.shape)}")
    expect(np.allclose(many[:, 0], long[:, 0].double().numpy(), atol=1e-5),
           f"{call} on x of shape {tuple(long.shape)}: the first position should see only itself, so its output "
           "should be x[:, 0]; is the mask the lower triangle (j <= i), with the softmax over the keys (the last axis)?")
    if np.allclose(out, _unscaled(queries), atol=1e-5):
        raise Failed(f"{call}: the scores are not scaled: divide q . k by sqrt(D), the size of a query")
    for tensor, got, name in ((queries, out, "x"), (long, many, "x")):
        expect_close(got, _reference(tensor), f"{call} on {name} of shape {tuple(tensor.shape)}: softmax(Q K^T / "
                     "sqrt(D) + causal mask) V", rtol=1e-4, atol=1e-5,
                     describe=lambda i, shape=tuple(tensor.shape): (f"sequence {i // (shape[1] * shape[2])}, position "
                                                                   f"{i // shape[2] % shape[1]}"))


# --------------------------------------------------------------------------- the challenge

def _split(context):
    def split():
        from course_lib import sequences

        return sequences.sequence_split(context.data(), max_length=MAX_LENGTH, test_fraction=TEST_FRACTION,
                                        seed=SPLIT_SEED)
    return context.cached(("nb08_challenge_split", context.dataset), split)


def _challenge_inputs(context) -> dict[str, np.ndarray]:
    """The training sequences, and the items the test sequences let a model read (never their targets)."""
    train, test = _split(context)
    return {"sequences": np.array(train.sequences), "user_ids": np.array(train.user_ids),
            "n_items": np.asarray(train.n_items, dtype=np.int64), "test_inputs": np.array(test.inputs)}


def valid_ranks(ranks: np.ndarray) -> bool:
    """Each row ranks every item: sorted, the last of each run of equal ranks r sits at position r."""
    ordered = np.sort(ranks, axis=1)
    last = np.ones_like(ordered, dtype=bool)
    last[:, :-1] = ordered[:, 1:] != ordered[:, :-1]
    positions = np.broadcast_to(np.arange(1, ranks.shape[1] + 1), ranks.shape)
    return bool((ordered[last] == positions[last]).all())


def challenge_mrr(ranks: np.ndarray, context) -> float:
    """The mean reciprocal rank of the test targets."""
    _, test = _split(context)
    return float(np.mean(1.0 / ranks[np.arange(len(test)), test.targets]))


def _challenge(outputs, context):
    _, test = _split(context)
    name = "NextItemModel"
    expect_in_time(outputs, name, CHALLENGE_SECONDS,
                   "fit on the grader's training sequences and scoring its test sequences")
    rows = int(outputs["batch_rows"])
    shape = tuple(int(n) for n in np.asarray(outputs["batch_shape"]).ravel())
    expect(shape == (rows, test.n_items),
           f"{name}: score(inputs) should return one score per item for each sequence, shape ({rows}, {test.n_items}) "
           f"for {rows} sequences; got shape {shape}")
    expect(bool(outputs["finite"]), f"{name}: score(inputs) returned NaN, infinite or non-numeric scores")
    ranks = expect_shape(outputs["ranks"], (len(test), test.n_items), f"{name}: the ranks of the test sequences")
    expect(np.issubdtype(ranks.dtype, np.integer) and valid_ranks(ranks),
           f"{name}: the ranks handed back are not a ranking of the items")
    mrr = challenge_mrr(ranks, context)
    if mrr > IMPLAUSIBLE_MRR:
        raise Failed(f"{name}: an MRR of {mrr:.3f} is implausibly high for this data set")
    low, high = CHALLENGE_THRESHOLDS
    expect(mrr >= low, f"{name}: MRR {mrr:.4f} on the grader's split: below {low}, no points (more at >= {high})")
    return 1.0 if mrr >= high else 0.5


JUDGES = {
    "nb08_mean_pooling_tests": Judge(_mean_pooling),
    "nb08_causal_attention_tests": Judge(_causal_attention),
    "nb08_challenge_tests": Judge(_challenge, inputs=_challenge_inputs),
}
