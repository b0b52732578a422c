"""The checks of notebook 08 accept the reference and name the typical mistakes."""

from __future__ import annotations

import pytest

from course_lib import checks

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


class Pooling(nn.Module):
    def __init__(self, n_items, embedding_dim, padding_idx=0, extra_column=False):
        super().__init__()
        self.embeddings = nn.Embedding(n_items + 1, embedding_dim, padding_idx=padding_idx)
        self.output = nn.Linear(embedding_dim, n_items + int(extra_column))

    def forward(self, sequences):
        mask = (sequences > 0).float().unsqueeze(-1)
        return self.output(self.embeddings(sequences).sum(1) / mask.sum(1).clamp(min=1))


class NoPaddingIdx(Pooling):
    def __init__(self, n_items, embedding_dim):
        super().__init__(n_items, embedding_dim, padding_idx=None)


class MeanOverLength(Pooling):
    def forward(self, sequences):
        return self.output(self.embeddings(sequences).mean(1))


class PaddingColumn(Pooling):
    def __init__(self, n_items, embedding_dim):
        super().__init__(n_items, embedding_dim, extra_column=True)


class PerPosition(Pooling):
    def forward(self, sequences):
        return self.output(self.embeddings(sequences))


class LastItem(Pooling):
    def forward(self, sequences):
        return self.output(self.embeddings(sequences[:, -1]))


def test_pooling_check_accepts_the_reference(capsys):
    checks.check_mean_pooling_net(Pooling)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (NoPaddingIdx, "padding_idx=0"),
    (MeanOverLength, "number of"),
    (PaddingColumn, "not an item"),
    (PerPosition, "one row per position"),
    (LastItem, "order"),
])
def test_pooling_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_mean_pooling_net(mistake)


def _attention(queries, keys, values, *, mask="tril", scale=True, fill=float("-inf"), axis=-1):
    length = queries.shape[1]
    scores = queries @ keys.transpose(-1, -2)
    if scale:
        scores = scores / queries.shape[-1] ** 0.5
    ones = torch.ones(length, length, dtype=torch.bool)
    allowed = {"tril": ones.tril(), "strict": ones.tril(-1), "triu": ones.triu(), "none": ones}[mask]
    if fill == 0.0:
        scores = scores * allowed
    else:
        scores = scores.masked_fill(~allowed, fill)
    return scores.softmax(axis) @ values


def test_attention_check_accepts_the_reference(capsys):
    checks.check_causal_attention(_attention)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda q, k, v: _attention(q, k, v, mask="none"), "sees the future"),
    (lambda q, k, v: _attention(q, k, v, mask="strict"), "keep the diagonal"),
    (lambda q, k, v: _attention(q, k, v, mask="triu"), "lower triangle"),
    (lambda q, k, v: _attention(q, k, v, fill=0.0), "exp\\(0\\)"),
    (lambda q, k, v: _attention(q, k, v, scale=False), "sqrt\\(D\\)"),
    (lambda q, k, v: _attention(q, k, v, axis=-2), "last axis"),
    (lambda q, k, v: torch.cat([v[:, :1], _attention(q, k, v)[:, 1:] * 1.5], 1), "multiply the weights by the values"),
])
def test_attention_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_causal_attention(mistake)


def test_checks_let_the_stub_error_through():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_causal_attention(stub)
    with pytest.raises(NotImplementedError):
        checks.check_mean_pooling_net(stub)
