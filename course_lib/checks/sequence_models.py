"""Checks for the exercises of notebook 08 (sequence models): the pooling network and causal attention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.checks._common import _call, _expect_tensor, _fail

__all__ = ["check_mean_pooling_net", "check_causal_attention", "check_next_item_challenge", "next_item_challenge_mrr",
           "CHALLENGE_THRESHOLDS", "CHALLENGE_SECONDS"]

# The challenge of notebook 08: points at MRR >= 0.04, more at >= 0.06 (popularity: 0.026 on ML-100K,
# 0.028 on the synthetic stand-in; the GRU about 0.065). The same on both data sets: both lie above
# popularity on both, and a model that learns from the order reaches them on both.
CHALLENGE_THRESHOLDS = (0.04, 0.06)
# fit and score together, on 2 cores; a GRU of the notebook's size takes about a third of it
CHALLENGE_SECONDS = 120.0
# no honest model comes near this on these data sets: above it, the model must have read the targets
_IMPLAUSIBLE_MRR = 0.5


def _run(name: str, function: Callable, *args: Any, what: str = "forward") -> Any:
    import torch

    inputs = ", ".join(f"torch.tensor({a.tolist()})" if isinstance(a, torch.Tensor) and a.numel() <= 20
                       else f"a tensor of shape {tuple(a.shape)}" if isinstance(a, torch.Tensor) else repr(a)
                       for a in args)
    return _call(name, function, *args, what=what, inputs=inputs)


def check_mean_pooling_net(network_class: type) -> None:
    """Check ``network_class(n_items, embedding_dim)``: an ``nn.Module`` whose ``forward(sequences)``
    takes (B, L) padded sequences (item ids + 1, 0 = padding) and returns (B, n_items) logits of
    the next item from the mean of the embeddings of the real items."""
    import torch

    name = "MeanPoolingNet"
    n_items, dim = 6, 4
    torch.manual_seed(0)
    network = _run(name, network_class, n_items, dim, what="MeanPoolingNet(n_items, embedding_dim)")
    if not isinstance(network, torch.nn.Module):
        _fail(name, f"it should be a torch.nn.Module, got {type(network).__name__}.")
    embeddings = [m for m in network.modules() if isinstance(m, torch.nn.Embedding)]
    first = forward_shape = None
    with torch.no_grad():
        first = _run(name, network, torch.tensor([[0, 0, 2, 3, 5], [1, 4, 6, 2, 2], [0, 0, 0, 0, 6]]))
        _expect_tensor(name, first, None, "3 padded sequences of length 5", label="forward's output")
        forward_shape = tuple(first.shape)
    if forward_shape == (3, n_items + 1):
        _fail(name, f"it returns {n_items + 1} columns: the padding id 0 is not an item. Output one logit "
                    f"per real item, n_items = {n_items} (column j for item id j + 1).")
    if len(forward_shape) == 3:
        _fail(name, f"it returns shape {forward_shape}, one row per position: pool (average) over the positions "
                    "to get one vector per sequence.")
    if forward_shape != (3, n_items):
        _fail(name, f"for 3 sequences and n_items={n_items} it returns shape {forward_shape}; expected (3, {n_items}).")
    if len(embeddings) != 1 or embeddings[0].num_embeddings != n_items + 1:
        rows = [m.num_embeddings for m in embeddings]
        _fail(name, f"expected one embedding table of n_items + 1 = {n_items + 1} rows (row 0 for the padding), "
                    f"found tables with {rows} rows.")
    table = embeddings[0]
    # Before anything overwrites them: the padding row starts (and stays) at zero.
    if table.padding_idx != 0 or float(table.weight.detach()[0].abs().max()) > 0:
        _fail(name, "the embedding of the padding id 0 is not zero: give the embedding table the argument "
                    "padding_idx=0, which keeps row 0 at zero and never updates it.")
    with torch.no_grad():
        # Non-zero everywhere, so that a wrong divisor shows.
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape) * 0.5 + 0.1)
        table.weight[0] = 0.0

        def forward(rows: list) -> Any:
            return _run(name, network, torch.tensor(rows))

        short, padded = forward([[2, 3]]), forward([[0, 0, 0, 2, 3]])
        if not torch.allclose(short, padded, atol=1e-5):
            _fail(name, "adding padding changes the output: divide the sum of the embeddings by the number of "
                        "real items (ids > 0), not by the length of the padded sequence.")
        if not torch.allclose(forward([[2, 2]]), forward([[2]]), atol=1e-5):
            _fail(name, "a sequence of one item twice gives another output than that item once: that is a sum, "
                        "not a mean. Divide the sum of the embeddings by the number of real items.")
        if not torch.allclose(forward([[2, 3, 5]]), forward([[5, 2, 3]]), atol=1e-5):
            _fail(name, "the order of the items changes the output: a mean ignores the order.")
        if torch.allclose(forward([[2, 3]]), forward([[4, 6]]), atol=1e-5):
            _fail(name, "two sequences of different items give the same output: look up the embeddings of the "
                        "sequence's items.")
        empty = forward([[0, 0, 0], [0, 0, 4]])
        if not bool(torch.isfinite(empty).all()):
            _fail(name, "a sequence of padding only gives NaN (0 / 0): keep the divisor at least 1, e.g. "
                        "count.clamp(min=1).")
        pooled = table.weight[[2, 3, 5]].mean(0, keepdim=True)
        linears = [m for m in network.modules() if isinstance(m, torch.nn.Linear)]
        if len(linears) == 1 and not torch.allclose(forward([[2, 3, 5]]), linears[0](pooled), atol=1e-5):
            _fail(name, "the logits should be the linear layer applied to the mean of the item embeddings, with "
                        "nothing in between.")
    output = _run(name, network, torch.tensor([[0, 1, 2]]))
    if not output.requires_grad:
        _fail(name, "the output carries no gradient: no torch.no_grad() or .detach() in forward.")
    print(f"{name}: all checks passed.")


def _reference_attention(queries: Any, keys: Any, values: Any) -> Any:
    import torch

    length = queries.shape[1]
    scores = queries @ keys.transpose(-1, -2) / queries.shape[-1] ** 0.5              # (B, L, L)
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    return scores.masked_fill(~allowed, float("-inf")).softmax(-1) @ values           # (B, L, D)


def check_causal_attention(attention: Callable) -> None:
    """Check ``attention(queries, keys, values)`` on (B, L, D) tensors: scaled dot-product
    attention in which position i attends only to positions j <= i."""
    import torch

    name = "causal_attention"
    generator = torch.Generator().manual_seed(0)
    queries, keys, values = (torch.randn(2, 5, 4, generator=generator) for _ in range(3))
    with torch.no_grad():
        output = _run(name, attention, queries, keys, values, what="your function")
    if isinstance(output, torch.Tensor) and tuple(output.shape) == (2, 5, 4) and torch.isnan(output).any():
        _fail(name, "the output holds NaN: some position attends to nothing. Each position must see itself "
                    "(keep the diagonal: j <= i, not j < i).")
    _expect_tensor(name, output, (2, 5, 4), "(B, L, D) = (2, 5, 4) queries, keys and values", label="the output")
    expected = _reference_attention(queries, keys, values)
    if torch.allclose(output, expected, atol=1e-5):
        print(f"{name}: all checks passed.")
        return
    scores = queries @ keys.transpose(-1, -2)                                          # (B, L, L)
    allowed = torch.ones(5, 5, dtype=torch.bool).tril()
    mistakes = [
        ((scores / 2.0).softmax(-1) @ values,
         "no position is masked: position i sees the future items j > i. Set the scores of j > i to -inf "
         "before the softmax."),
        ((scores / 2.0 * allowed).softmax(-1) @ values,
         "the masked scores are set to 0, and exp(0) = 1 still gives the future a weight. Set them to -inf "
         "(masked_fill) before the softmax."),
        (scores.masked_fill(~allowed, float("-inf")).softmax(-1) @ values,
         "the scores are not scaled: divide q . k by sqrt(D), the size of a query."),
        (((scores / 2.0).softmax(-1) * allowed) @ values,
         "the mask is applied after the softmax: the future still takes part in the normalization, and the "
         "weights of a position no longer sum to 1. Set the scores of j > i to -inf before the softmax."),
        ((scores / 2.0).masked_fill(~allowed, float("-inf")).softmax(-2) @ values,
         "the softmax runs over the queries: take it over the keys (the last axis), so that each row of "
         "weights sums to 1."),
    ]
    with torch.no_grad():
        future_keys, future_values = keys.clone(), values.clone()
        future_keys[:, 3:] += 5.0
        future_values[:, 3:] -= 7.0
        changed = _run(name, attention, queries, future_keys, future_values, what="your function")
    if not torch.allclose(changed[:, :3], output[:, :3], atol=1e-5):
        for wrong, hint in mistakes:
            if torch.allclose(output, wrong, atol=1e-5):
                _fail(name, hint)
        _fail(name, "changing the keys and values of positions 3 and 4 changed the outputs of positions 0 to 2: "
                    "an earlier position sees the future. Position i may attend to j <= i only: the lower "
                    "triangle (torch.tril), with the other scores set to -inf before the softmax.")
    with torch.no_grad():
        constant = _run(name, attention, queries, keys, torch.ones(2, 5, 4), what="your function")
    if not torch.allclose(constant, torch.ones(2, 5, 4), atol=1e-5):
        for wrong, hint in mistakes:
            if torch.allclose(output, wrong, atol=1e-5):
                _fail(name, hint)
        _fail(name, "with every value equal to 1 the output should be 1 everywhere, since the weights of each "
                    "position sum to 1; yours do not. Take the softmax over the keys (the last axis), after "
                    "masking (not before), and multiply it by the values.")
    for wrong, hint in mistakes:
        if torch.allclose(output, wrong, atol=1e-5):
            _fail(name, hint)
    if not torch.allclose(output[:, 0], values[:, 0], atol=1e-5):
        _fail(name, "the first position should see only itself, so its output should equal values[:, 0]. Is the "
                    "mask the lower triangle (j <= i, torch.tril), not the upper one?")
    _fail(name, "the first position is right but later ones are not: scale the scores by 1 / sqrt(D), mask "
                "j > i with -inf, softmax over the keys (the last axis), then multiply the weights by the values.")


def _challenge_mrr(name: str, model_class: type, train: Any, test: Any, max_seconds: float) -> tuple[float, float]:
    import time

    import numpy as np

    from course_lib import sequences

    started = time.perf_counter()
    model = _call(name, model_class, what=f"{getattr(model_class, '__name__', 'your class')}()", inputs="()")
    fitted = _call(name, model.fit, train, what="fit(train)", inputs="the training sequences",
                   time_limit=max_seconds, allow_none=True)
    model = model if fitted is None else fitted
    left = max(max_seconds - (time.perf_counter() - started), 1.0)
    probe = _call(name, model.score, test.inputs[:3], what="score(inputs)", inputs="3 test sequences")
    probe = np.asarray(probe.detach().cpu().numpy() if hasattr(probe, "detach") else probe, dtype=float)
    if probe.shape != (3, test.n_items):
        _fail(name, f"score(inputs) should return one score per item for each sequence, shape (3, {test.n_items}) "
                    f"for 3 sequences; got shape {probe.shape}.")
    if not np.isfinite(probe).all():
        _fail(name, "score(inputs) returned NaN or infinite scores.")

    class _AsArray:
        def score(self, inputs):
            scores = model.score(inputs)
            return np.asarray(scores.detach().cpu().numpy() if hasattr(scores, "detach") else scores, dtype=float)

    result = _call(name, sequences.evaluate_next_item, _AsArray(), test, what="scoring the test sequences",
                   inputs="the test sequences", time_limit=left)
    seconds = time.perf_counter() - started
    if seconds > max_seconds:
        _fail(name, f"fit and score took {seconds:.0f} s, more than the {max_seconds:g} s allowed.")
    mrr = float(result["mrr"])
    if mrr > _IMPLAUSIBLE_MRR:
        _fail(name, f"an MRR of {mrr:.3f} is implausibly high for this data set: does the model read the test "
                    "targets (the `test` variable) instead of learning from the training sequences?")
    return mrr, seconds


def check_next_item_challenge(model_class: type, train: Any, test: Any, references: dict | None = None,
                              max_seconds: float = CHALLENGE_SECONDS) -> float:
    """The open challenge of notebook 08: ``model_class()`` with ``fit(train)`` (a SequenceData) and
    ``score(inputs)`` ((N, L) padded sequences -> (N, n_items) scores). Fits it, scores the test
    sequences within ``max_seconds``, prints its MRR beside the reference models' and the
    thresholds, and returns the MRR. Fails only when the interface is not met or time runs out."""
    name = "NextItemModel"
    mrr, seconds = _challenge_mrr(name, model_class, train, test, max_seconds)
    low, high = CHALLENGE_THRESHOLDS
    lines = [f"{name}: your model's MRR on the test sequences is {mrr:.4f} (fit and score in {seconds:.1f} s)."]
    for label, value in sorted((references or {}).items(), key=lambda item: -item[1]):
        lines.append(f"  {label:<28} MRR {value:.4f}")
    verdict = ("both thresholds reached" if mrr >= high else f"the first threshold reached; {high} gives more points"
               if mrr >= low else f"below the first threshold {low}")
    lines.append(f"Points at MRR >= {low} and more at >= {high}: {verdict}. The grader fits your class again, "
                 "on sequences of other users.")
    print("\n".join(lines))
    return mrr


def next_item_challenge_mrr(model_class: type, data: Any, seed: int, max_length: int = 10,
                            max_seconds: float = CHALLENGE_SECONDS) -> float:
    """The challenge's MRR on a split of ``data`` by users that the notebook never made (``seed``):
    what the hidden tests compare with the thresholds."""
    from course_lib import sequences

    train, test = sequences.sequence_split(data, max_length=max_length, test_fraction=0.2, seed=seed)
    return _challenge_mrr("NextItemModel", model_class, train, test, max_seconds)[0]
