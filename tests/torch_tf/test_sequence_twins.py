"""The next-item twins (course_lib/torch/sequence.py, course_lib/tf/sequence.py): the same weights
give the same scores, loss and SGD step; each model beats popularity; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.data.synthetic import make_synthetic
from course_lib.sequences import PopularityDistribution, evaluate_next_item, sequence_split

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

from course_lib.tf import sequence as tf_sequence  # noqa: E402
from course_lib.torch import sequence as torch_sequence  # noqa: E402

MODELS = {
    "MeanPooling": {},
    "GRURecommender": {},
    "SelfAttention": {"n_blocks": 2, "n_heads": 2},
}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models: one thread avoids the clash of torch's and TensorFlow's thread pools."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny():
    data = make_synthetic(n_users=60, n_items=40, mean_per_user=25, seed=1)
    return sequence_split(data, max_length=6, test_fraction=0.25, seed=0)


@pytest.fixture(scope="module")
def small():
    data = make_synthetic(n_users=300, n_items=200, mean_per_user=40, seed=3)
    return sequence_split(data, max_length=10, test_fraction=0.2, seed=0)


def _pair(name, train, **extra):
    arguments = {"embedding_dim": 8, "epochs": 0, "seed": 0, **MODELS[name], **extra}
    torch_model = getattr(torch_sequence, name)(**arguments).fit(train, show_progress=False)
    tf_model = getattr(tf_sequence, name)(**arguments).fit(train, show_progress=False)
    return torch_model, tf_model


@pytest.mark.parametrize("name", MODELS)
def test_same_weight_names_and_shapes(name, tiny):
    torch_model, tf_model = _pair(name, tiny[0])
    torch_weights, tf_weights = torch_model.get_weights(), tf_model.get_weights()
    assert sorted(torch_weights) == sorted(tf_weights)
    assert {k: v.shape for k, v in torch_weights.items()} == {k: v.shape for k, v in tf_weights.items()}
    assert np.all(tf_weights["item_embeddings.weight"][0] == 0)  # padding row, as padding_idx=0


@pytest.mark.parametrize("name", MODELS)
def test_same_weights_give_same_scores_loss_and_sgd_step(name, tiny):
    train, test = tiny
    torch_model, tf_model = _pair(name, train)
    tf_model.set_weights(torch_model.get_weights())
    np.testing.assert_allclose(tf_model.score(test.inputs), torch_model.score(test.inputs), atol=1e-5)
    batch = train.sequences[:32]
    assert abs(tf_model.loss_on_batch(batch) - torch_model.loss_on_batch(batch)) < 1e-5
    torch_model.sgd_step(batch, learning_rate=0.5)
    tf_model.sgd_step(batch, learning_rate=0.5)
    torch_after, tf_after = torch_model.get_weights(), tf_model.get_weights()
    for key in torch_after:
        np.testing.assert_allclose(tf_after[key], torch_after[key], atol=1e-5, err_msg=key)
    assert np.all(tf_after["item_embeddings.weight"][0] == 0)


@pytest.mark.parametrize("framework", [torch_sequence, tf_sequence], ids=["torch", "tf"])
def test_score_shape_padding_and_errors(framework, tiny):
    train, test = tiny
    model = framework.MeanPooling(embedding_dim=8, epochs=1).fit(train, show_progress=False)
    scores = model.score(test.inputs)
    assert scores.shape == (len(test), train.n_items)  # no padding column
    short = test.inputs[:, -2:]
    np.testing.assert_allclose(model.score(short), model.score(np.pad(short, ((0, 0), (3, 0)))), atol=1e-5)
    with pytest.raises(ValueError, match="beyond the catalogue"):
        model.score(np.array([[0, 1, train.n_items + 1]]))
    with pytest.raises(ValueError, match="length 0"):
        model.score(np.zeros((1, 0), dtype=int))
    with pytest.raises(ValueError, match="length 0"):
        model.score(np.zeros((2, 5), dtype=int))
    for bad in ({"embedding_dim": 0}, {"epochs": -1}, {"learning_rate": 0.0}, {"batch_size": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            framework.GRURecommender(**bad).fit(train, show_progress=False)
    with pytest.raises(ValueError, match="n_heads"):
        framework.SelfAttention(embedding_dim=8, n_heads=3).fit(train, show_progress=False)
    with pytest.raises(TypeError, match="SequenceData"):
        framework.MeanPooling().fit(train.sequences)
    with pytest.raises(RuntimeError, match="not fitted"):
        framework.MeanPooling().score(test.inputs)


@pytest.mark.parametrize("framework", [torch_sequence, tf_sequence], ids=["torch", "tf"])
def test_self_attention_is_causal(framework, tiny):
    train, test = tiny
    model = framework.SelfAttention(embedding_dim=8, epochs=1).fit(train, show_progress=False)
    inputs = test.inputs[:4]
    changed = inputs.copy()
    changed[:, -1] = (changed[:, -1] % train.n_items) + 1  # another last item
    if framework is torch_sequence:
        with torch.no_grad():
            before = model.network_(torch.as_tensor(inputs)).numpy()
            after = model.network_(torch.as_tensor(changed)).numpy()
    else:
        before, after = model.network_(inputs).numpy(), model.network_(changed).numpy()
    np.testing.assert_allclose(before[:, :-1], after[:, :-1], atol=1e-5)  # the past never sees the future
    assert not np.allclose(before[:, -1], after[:, -1])


@pytest.mark.slow
@pytest.mark.parametrize("framework", [torch_sequence, tf_sequence], ids=["torch", "tf"])
@pytest.mark.parametrize("name", MODELS)
def test_each_model_beats_popularity(framework, name, small):
    train, test = small
    popularity = evaluate_next_item(PopularityDistribution().fit(train), test)["mrr"]
    model = getattr(framework, name)(embedding_dim=32, epochs=8, seed=0).fit(train, show_progress=False)
    assert evaluate_next_item(model, test)["mrr"] > popularity
