"""course_lib.plots.plot_history: the learning curves of a model's history_."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import course_lib  # noqa: E402
from course_lib.baselines import Popularity  # noqa: E402
from course_lib.plots import plot_histories, plot_history  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_one_line_per_curve_and_no_timing():
    history = {"loss": [0.9, 0.5, 0.4], "seconds": [1.0, 2.1, 3.0], "validation_ndcg@10": [0.1, 0.2, 0.25],
               "learning_rate": [1e-3, 1e-3, 5e-4]}
    ax = plot_history(history, title="NeuMF")
    assert _labels(ax) == ["loss", "validation_ndcg@10"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [0.1, 0.2, 0.25])
    assert ax.get_title() == "NeuMF" and ax.get_xlabel() == "epoch"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "validation_ndcg@10"]


def test_keys_pick_and_order_the_curves_and_curves_of_other_lengths():
    history = {"loss": [3.0, 2.0], "train_rmse": [1.2, 1.0], "test_rmse": [1.3, 1.1]}
    _, ax = plt.subplots()
    assert plot_history(history, ax=ax, keys=["test_rmse", "loss"]) is ax
    assert _labels(ax) == ["test_rmse", "loss"]
    ax = plot_history({"train RMSE": np.array([1.0, 0.9, 0.8]), "bias only": [1.1]})
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [3, 1]


def test_reads_a_fitted_model():
    class Trained:
        def fit(self):
            return self

    model = Trained()
    model.history_ = {"loss": [1.0, 0.5]}
    assert _labels(plot_history(model)) == ["loss"]


@pytest.mark.parametrize("history, error, message", [
    ({}, ValueError, "empty"),
    ({"seconds": [1.0, 2.0]}, ValueError, "no per-epoch curve"),
    ({"loss": 0.5}, ValueError, r"history\['loss'\] should be a list"),
    ({"loss": "0.5"}, ValueError, r"history\['loss'\]"),
    ({"loss": [[1.0, 2.0]]}, ValueError, r"history\['loss'\]"),
    ([0.9, 0.5], TypeError, "history_"),
    (None, TypeError, "history_"),
])
def test_bad_histories_are_named(history, error, message):
    with pytest.raises(error, match=message):
        plot_history(history)
    assert not plt.get_fignums()  # nothing drawn before the refusal


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match=r"\['validation_ndcg'\] not in the history; it has \['loss'\]"):
        plot_history({"loss": [1.0]}, keys=["validation_ndcg"])


def test_models_without_a_history():
    data = course_lib.make_synthetic(n_users=30, n_items=40, mean_per_user=20, seed=0)
    with pytest.raises(RuntimeError, match="Popularity is not fitted"):
        plot_history(Popularity())
    with pytest.raises(ValueError, match="Popularity's history_ is empty: it records no epoch"):
        plot_history(Popularity().fit(data))


def test_plot_histories_draws_one_curve_per_model():
    class Trained:
        def fit(self):
            return self

    twin = Trained()
    twin.history_ = {"loss": [0.8, 0.6, 0.5], "validation_ndcg@10": [0.2, 0.3, 0.3]}
    ax = plot_histories({"PyTorch": {"loss": [0.9, 0.7], "validation_ndcg@10": [0.1, 0.2]}, "TensorFlow": twin},
                        key="validation_ndcg@10", title="NDCG")
    assert _labels(ax) == ["PyTorch", "TensorFlow"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [0.2, 0.3, 0.3])
    assert ax.get_title() == "NDCG" and ax.get_ylabel() == "validation_ndcg@10"
    assert plot_histories({"a": {"loss": [1.0]}}).get_title() == "loss"


@pytest.mark.parametrize("models, message", [
    ({}, "empty"),
    ({"GMF": {"loss": [1.0]}, "BPR": {"validation_ndcg@10": [0.1]}}, r"'loss' is not in the history of 'BPR'; it has \['validation_ndcg@10'\]"),
    ({"GMF": {}}, "empty"),
    ({"GMF": {"loss": 3.0}}, r"history\['loss'\] of 'GMF'"),
])
def test_plot_histories_names_what_is_missing(models, message):
    with pytest.raises(ValueError, match=message):
        plot_histories(models)
    assert not plt.get_fignums()
