"""Checks for the exercises of notebook 08 (sequence models): the pooling network and causal attention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.checks._common import _fail

__all__ = ["check_mean_pooling_net", "check_causal_attention"]


def _run(name: str, function: Callable, *args: Any) -> Any:
    try:
        return function(*args)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        _fail(name, f"it raised {type(error).__name__}: {error}")
    return None


def check_mean_pooling_net(network_class: type) -> None:
    """Check ``network_class(n_items, embedding_dim)``: an ``nn.Module`` whose ``forward(sequences)``
    takes (B, L) padded sequences (item ids + 1, 0 = padding) and returns (B, n_items) logits of
    the next item from the mean of the embeddings of the real items."""
    import torch

    name = "mean pooling network"
    n_items, dim = 6, 4
    torch.manual_seed(0)
    network = _run(name, network_class, n_items, dim)
    if not isinstance(network, torch.nn.Module):
        _fail(name, f"it should be a torch.nn.Module, got {type(network).__name__}.")
    with torch.no_grad():
        # Non-zero everywhere, so that a forgotten padding_idx or a wrong divisor shows.
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape) * 0.5 + 0.1)
        for module in network.modules():
            if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None:
                module.weight[module.padding_idx] = 0.0

        def forward(rows: list) -> Any:
            return _run(name, network, torch.tensor(rows))

        output = forward([[0, 0, 2, 3, 5], [1, 4, 6, 2, 2], [0, 0, 0, 0, 6]])
        shape = tuple(output.shape)
        if shape == (3, n_items + 1):
            _fail(name, f"it returns {n_items + 1} columns: the padding id 0 is not an item. Output one logit "
                        f"per real item, n_items = {n_items} (column j for item id j + 1).")
        if len(shape) == 3:
            _fail(name, f"it returns shape {shape}, one row per position: pool (average) over the positions "
                        "to get one vector per sequence.")
        if shape != (3, n_items):
            _fail(name, f"for 3 sequences and n_items={n_items} it returns shape {shape}; expected (3, {n_items}).")
        short, padded = forward([[2, 3]]), forward([[0, 0, 0, 2, 3]])
        if not torch.allclose(short, padded, atol=1e-5):
            embeddings = [m for m in network.modules() if isinstance(m, torch.nn.Embedding)]
            if embeddings and all(m.padding_idx is None for m in embeddings):
                _fail(name, "adding padding changes the output: the embedding of id 0 is not zero. Create the "
                            "table with nn.Embedding(n_items + 1, embedding_dim, padding_idx=0).")
            _fail(name, "adding padding changes the output: divide the sum of the embeddings by the number of "
                        "real items (ids > 0), not by the length of the padded sequence.")
        if not torch.allclose(forward([[2, 3, 5]]), forward([[5, 2, 3]]), atol=1e-5):
            _fail(name, "the order of the items changes the output: a mean ignores the order.")
        if torch.allclose(forward([[2, 3]]), forward([[4, 6]]), atol=1e-5):
            _fail(name, "two sequences of different items give the same output: look up the embeddings of the "
                        "sequence's items.")
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

    name = "causal attention"
    generator = torch.Generator().manual_seed(0)
    queries, keys, values = (torch.randn(2, 5, 4, generator=generator) for _ in range(3))
    with torch.no_grad():
        output = _run(name, attention, queries, keys, values)
    if tuple(output.shape) != (2, 5, 4):
        _fail(name, f"for (B, L, D) = (2, 5, 4) inputs it returns shape {tuple(output.shape)}; expected (2, 5, 4).")
    if torch.isnan(output).any():
        _fail(name, "the output holds NaN: some position attends to nothing. Each position must see itself "
                    "(keep the diagonal: j <= i, not j < i).")
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
        ((scores / 2.0).masked_fill(~allowed, float("-inf")).softmax(-2) @ values,
         "the softmax runs over the queries: take it over the keys (the last axis), so that each row of "
         "weights sums to 1."),
    ]
    for wrong, hint in mistakes:
        if torch.allclose(output, wrong, atol=1e-5):
            _fail(name, hint)
    if not torch.allclose(output[:, 0], values[:, 0], atol=1e-5):
        _fail(name, "the first position should see only itself, so its output should equal values[:, 0]. Is the "
                    "mask the lower triangle (j <= i, torch.tril), not the upper one?")
    _fail(name, "the first position is right but later ones are not: scale the scores by 1 / sqrt(D), mask "
                "j > i with -inf, softmax over the keys (the last axis), then multiply the weights by the values.")
