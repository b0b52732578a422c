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


# ------------------------------------------------------------------ the shared loop: history, validation, keep_best
FRAMEWORKS = {"torch": torch_sequence, "tf": tf_sequence}


@pytest.fixture(scope="module")
def validated(tiny):
    from course_lib.sequences import split_sequences

    fit_part, validation = split_sequences(tiny[0], test_fraction=0.3, seed=0)
    return fit_part, validation


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", MODELS)
def test_history_follows_the_schema_with_and_without_validation(framework, name, validated):
    from course_lib.training_loop import history_keys, learning_rate_at

    fit_part, validation = validated
    cls = getattr(FRAMEWORKS[framework], name)
    arguments = dict(embedding_dim=8, epochs=3, learning_rate=0.02, scheduler="cosine", show_progress=False, **MODELS[name])
    plain = cls(**arguments).fit(fit_part)
    assert set(plain.history_) == history_keys("mrr", False, validated=False)
    assert all(len(values) == 3 for values in plain.history_.values())
    assert plain.history_["learning_rate"] == [learning_rate_at("cosine", 0.02, e, 3) for e in range(3)]
    assert np.all(np.diff(plain.history_["seconds"]) > 0) and plain.history_["seconds"][0] > 0
    assert np.isfinite(plain.history_["loss"]).all() and plain.history_["loss"][-1] < plain.history_["loss"][0]
    model = cls(**arguments, validation_metric="hit_rate@5").fit(fit_part, validation)
    assert set(model.history_) == history_keys("hit_rate@5", False, validated=True) == {
        "loss", "seconds", "learning_rate", "validation_hit_rate@5"}
    np.testing.assert_allclose(model.history_["loss"], plain.history_["loss"], rtol=1e-6)  # validation changes nothing
    last = evaluate_next_item(model, validation, k=5)["hit_rate@5"]
    assert model.history_["validation_hit_rate@5"][-1] == pytest.approx(last)
    mrr = cls(**arguments).fit(fit_part, validation=validation)
    assert mrr.history_["validation_mrr"][-1] == pytest.approx(evaluate_next_item(mrr, validation)["mrr"])
    assert mrr.stopped_epoch_ == 3 and mrr.best_epoch_ == 1 + int(np.argmax(mrr.history_["validation_mrr"]))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_keep_best_restores_the_best_epoch_and_patience_stops(framework, validated):
    fit_part, validation = validated
    # a large learning rate on a tiny set: the validation MRR peaks early, then falls
    arguments = dict(embedding_dim=16, epochs=25, learning_rate=0.1, seed=0, show_progress=False)
    full = FRAMEWORKS[framework].GRURecommender(**arguments).fit(fit_part, validation)
    values = full.history_["validation_mrr"]
    best = int(np.argmax(values))
    assert best < 24, "the set-up must overfit for this test to mean something"
    kept = FRAMEWORKS[framework].GRURecommender(**arguments, keep_best="metric").fit(fit_part, validation)
    assert kept.best_epoch_ == best + 1 and kept.stopped_epoch_ == 25
    assert evaluate_next_item(kept, validation)["mrr"] == pytest.approx(values[best], abs=1e-6)
    assert evaluate_next_item(full, validation)["mrr"] != pytest.approx(values[best], abs=1e-6)
    stopped = FRAMEWORKS[framework].GRURecommender(**arguments, keep_best="metric", patience=2).fit(fit_part, validation)
    first_stall = next(e for e in range(len(values)) if e >= 2 and max(values[e - 1:e + 1]) <= max(values[:e - 1]))
    assert stopped.stopped_epoch_ == first_stall + 1 < 25
    assert len(stopped.history_["loss"]) == stopped.stopped_epoch_
    np.testing.assert_allclose(stopped.history_["validation_mrr"], values[:stopped.stopped_epoch_], rtol=1e-6)
    assert evaluate_next_item(stopped, validation)["mrr"] == pytest.approx(max(stopped.history_["validation_mrr"]))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_validation_and_loop_arguments_are_checked_before_anything_changes(framework, tiny, validated):
    from course_lib.sequences import SequenceData

    train, test = tiny
    fit_part, validation = validated
    module = FRAMEWORKS[framework]
    data = make_synthetic(n_users=30, n_items=40, mean_per_user=25, seed=2)
    ending_in_padding = SequenceData(np.pad(validation.sequences[:4, 1:], ((0, 0), (0, 1))), validation.user_ids[:4],
                                     validation.n_items)
    nothing_to_read = SequenceData(np.pad(validation.sequences[:3, -1:], ((0, 0), (5, 0))), validation.user_ids[:3],
                                   validation.n_items)
    other_catalogue = SequenceData(validation.sequences, validation.user_ids, validation.n_items + 5)
    cases = [
        ({}, data, TypeError, r"`validation` must be a SequenceData .* got Interactions\. .*split_sequences"),
        ({}, validation.sequences, TypeError, r"`validation` must be a SequenceData .* got ndarray"),
        ({}, other_catalogue, ValueError, r"`validation` has n_items=45, `train` 40"),
        ({}, ending_in_padding, ValueError, r"`validation` sequences \[0, 1, 2, 3\] \(4 in all\): each ends in padding"),
        ({}, nothing_to_read, ValueError, r"`validation` sequences \[0, 1, 2\] .*no item to read"),
        ({}, SequenceData(validation.sequences[:0], validation.user_ids[:0], validation.n_items), ValueError,
         "`validation` holds no sequences"),
        ({"keep_best": "metric"}, None, ValueError, r"need a `validation` set"),
        ({"patience": 2}, None, ValueError, r"need a `validation` set"),
        ({"keep_best": "loss"}, validation, ValueError, r"has no validation loss"),
        ({"keep_best": "best"}, validation, ValueError, "keep_best"),
        ({"patience": 0}, validation, ValueError, "patience"),
        ({"validation_metric": "ndcg@10"}, validation, ValueError, r"`validation_metric` must be one of the forms mrr"),
        ({"validation_metric": "hit_rate@0"}, validation, ValueError, "validation_metric"),
        ({"scheduler": "linear"}, validation, ValueError, "scheduler"),
        ({"optimizer": "adamw"}, validation, ValueError, "optimizer"),
        ({"l2": -0.1}, validation, ValueError, "`l2`"),
    ]
    fitted = module.MeanPooling(embedding_dim=8, epochs=1, show_progress=False).fit(fit_part)
    scores = fitted.score(test.inputs)
    for changes, held_out, error, message in cases:
        fresh = module.MeanPooling(embedding_dim=8, epochs=1, show_progress=False, **changes)
        with pytest.raises(error, match=message):
            fresh.fit(fit_part, held_out)
        assert not hasattr(fresh, "n_items_") and not hasattr(fresh, "history_")
        for name, value in changes.items():
            setattr(fitted, name, value)
        with pytest.raises(error, match=message):
            fitted.fit(train, held_out)
        fitted.__dict__.update(module.MeanPooling(embedding_dim=8, epochs=1, show_progress=False).__dict__)
        np.testing.assert_array_equal(fitted.score(test.inputs), scores)
        assert set(fitted.history_) == {"loss", "seconds", "learning_rate"}
    with pytest.raises(TypeError, match="weight_decay"):
        module.MeanPooling(weight_decay=0.1)  # renamed l2


def test_l2_is_torch_adams_coupled_weight_decay(tiny):
    """``l2`` adds ``l2 * w`` to every gradient before Adam's update: torch.optim.Adam(weight_decay=l2)."""
    import copy

    import torch.nn.functional as F

    train = tiny[0]
    model = torch_sequence.GRURecommender(embedding_dim=8, epochs=0, l2=0.3, learning_rate=0.05,
                                          show_progress=False).fit(train)
    reference = copy.deepcopy(model.network_)
    adam = torch.optim.Adam(reference.parameters(), lr=0.05, weight_decay=0.3)
    batch = train.sequences[:40]
    for _ in range(3):
        model.optimizer_step(batch)
        sequences = torch.as_tensor(batch)
        inputs, targets = sequences[:, :-1], sequences[:, 1:]
        keep = (inputs > 0) & (targets > 0)
        adam.zero_grad()
        F.cross_entropy(reference(inputs)[keep], targets[keep] - 1).backward()
        adam.step()
    for key, value in reference.state_dict().items():
        np.testing.assert_allclose(model.get_weights()[key], value.numpy(), atol=1e-6, err_msg=key)
    unpenalized = torch_sequence.GRURecommender(embedding_dim=8, epochs=0, learning_rate=0.05,
                                                show_progress=False).fit(train)
    for _ in range(3):
        unpenalized.optimizer_step(batch)
    assert not np.allclose(unpenalized.get_weights()["output.weight"], model.get_weights()["output.weight"], atol=1e-6)
