"""The checks of notebook 08 accept the reference and name the typical mistakes."""

from __future__ import annotations

import pytest

from course_lib import checks
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

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


class SumPooling(Pooling):
    def forward(self, sequences):
        return self.output(self.embeddings(sequences).sum(1))


class NoClamp(Pooling):
    def forward(self, sequences):
        mask = (sequences > 0).float().unsqueeze(-1)
        return self.output(self.embeddings(sequences).sum(1) / mask.sum(1))


class ForwardNoReturn(Pooling):
    def forward(self, sequences):
        super().forward(sequences)


class Detached(Pooling):
    def forward(self, sequences):
        return super().forward(sequences).detach()


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


def _attention_no_return(queries, keys, values):
    _attention(queries, keys, values)


def _mask_after_softmax(queries, keys, values):
    length = queries.shape[1]
    weights = (queries @ keys.transpose(-1, -2) / queries.shape[-1] ** 0.5).softmax(-1)
    return (weights * torch.ones(length, length).tril()) @ values


MISTAKES = [
    ("pooling: forward without return", "check_mean_pooling_net", ForwardNoReturn, "did you forget `return`"),
    ("pooling: no padding_idx", "check_mean_pooling_net", NoPaddingIdx, "padding_idx=0"),
    ("pooling: divided by the length", "check_mean_pooling_net", MeanOverLength, "number of real items"),
    ("pooling: sum", "check_mean_pooling_net", SumPooling, "that is a sum"),
    ("pooling: a padding column", "check_mean_pooling_net", PaddingColumn, "not an item"),
    ("pooling: per position", "check_mean_pooling_net", PerPosition, "one row per position"),
    ("pooling: last item", "check_mean_pooling_net", LastItem, "order"),
    ("pooling: 0 / 0", "check_mean_pooling_net", NoClamp, "padding only"),
    ("pooling: detached", "check_mean_pooling_net", Detached, "no gradient"),
    ("attention: forgotten return", "check_causal_attention", _attention_no_return, "did you forget `return`"),
    ("attention: no mask", "check_causal_attention", lambda q, k, v: _attention(q, k, v, mask="none"),
     "sees the future"),
    ("attention: j < i", "check_causal_attention", lambda q, k, v: _attention(q, k, v, mask="strict"),
     "keep the diagonal"),
    ("attention: upper triangle", "check_causal_attention", lambda q, k, v: _attention(q, k, v, mask="triu"),
     "lower triangle"),
    ("attention: masked to 0", "check_causal_attention", lambda q, k, v: _attention(q, k, v, fill=0.0), "exp(0)"),
    ("attention: not scaled", "check_causal_attention", lambda q, k, v: _attention(q, k, v, scale=False), "sqrt(D)"),
    ("attention: softmax over queries", "check_causal_attention", lambda q, k, v: _attention(q, k, v, axis=-2),
     "last axis"),
    ("attention: mask after the softmax", "check_causal_attention", _mask_after_softmax, "after the softmax"),
    ("attention: wrong later positions", "check_causal_attention",
     lambda q, k, v: torch.cat([v[:, :1], _attention(q, k, v)[:, 1:] * 1.5], 1), "sum to 1"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    assert_named(check, answer, expected)


def test_checks_accept_the_notebook_answers(capsys):
    checks.check_mean_pooling_net(solution("08_sequence_models", "MeanPoolingNet"))
    checks.check_mean_pooling_net(Pooling)
    checks.check_causal_attention(solution("08_sequence_models", "causal_attention"))
    checks.check_causal_attention(_attention)
    assert capsys.readouterr().out.count("passed") == 4


# ----------------------------------------------------------------------------- the open challenge
@pytest.fixture(scope="module")
def challenge_data():
    import course_lib
    from course_lib import sequences

    data = course_lib.make_synthetic(n_users=300, n_items=120, mean_per_user=40, seed=3)
    train, test = sequences.sequence_split(data, max_length=10, test_fraction=0.2, seed=1)
    return data, train, test


def _challenge_hint(model_class, challenge_data, **kwargs):
    _, train, test = challenge_data
    with pytest.raises(AssertionError) as caught:
        checks.check_next_item_challenge(model_class, train, test, **kwargs)
    return str(caught.value)


def test_the_challenge_reference_beats_popularity(challenge_data, capsys):
    import numpy as np

    from course_lib import sequences

    data, train, test = challenge_data
    reference = solution("08_sequence_models", "NextItemModel")
    popularity = sequences.evaluate_next_item(sequences.PopularityDistribution().fit(train), test)["mrr"]
    mrr = checks.check_next_item_challenge(reference, train, test, references={"Popularity": popularity})
    assert np.isfinite(mrr) and mrr > 2 * popularity
    printed = capsys.readouterr().out
    assert f"{mrr:.4f}" in printed and "Popularity" in printed and "0.04" in printed
    from course_lib.checks.sequence_models import next_item_challenge_mrr

    hidden = next_item_challenge_mrr(reference, data, seed=99)
    assert hidden > 2 * popularity and hidden != mrr            # another split of the users


def test_the_challenge_names_what_is_wrong(challenge_data):
    import time

    import numpy as np

    class WrongShape:
        def fit(self, train):
            self.n = train.n_items
            return self

        def score(self, inputs):
            return np.zeros((len(inputs), self.n + 1))

    class NotFinite(WrongShape):
        def score(self, inputs):
            return np.full((len(inputs), self.n), np.nan)

    class Slow(WrongShape):
        def fit(self, train):
            time.sleep(3)
            return super().fit(train)

    _, _, test = challenge_data
    answers = dict(zip(map(tuple, test.inputs.tolist()), test.targets.tolist(), strict=True))

    class ReadsTheTargets(WrongShape):
        def score(self, inputs):
            scores = np.zeros((len(inputs), self.n))
            for row, sequence in enumerate(inputs.tolist()):
                scores[row, answers.get(tuple(sequence), 0)] = 1.0
            return scores

    class Stub:
        def fit(self, train):
            raise NotImplementedError()

    assert "shape (3, 120)" in _challenge_hint(WrongShape, challenge_data)
    assert "NaN" in _challenge_hint(NotFinite, challenge_data)
    assert "did not finish within 1 s" in _challenge_hint(Slow, challenge_data, max_seconds=1)
    assert "implausibly high" in _challenge_hint(ReadsTheTargets, challenge_data)
    with pytest.raises(NotImplementedError):
        checks.check_next_item_challenge(Stub, *challenge_data[1:])
