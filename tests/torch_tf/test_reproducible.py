"""Same seed, same results: a model fitted twice with one seed scores the same, whatever ran in between.

Each framework keeps global random state (Keras' default seed generator, PyTorch's generator); a
twin that draws anything from it (an unseeded initializer, dropout without a seed) gives another
model on the second fit in one process, which a notebook run after other cells would show.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from tests.torch_tf.device_guard import MODELS, fit_and_score, tiny_data  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return tiny_data()


def _disturb_global_random_state() -> None:
    import random

    import keras
    import torch

    random.random()
    np.random.random()  # noqa: NPY002 - the legacy global state is what we disturb
    torch.rand(3)
    keras.random.uniform((3,))


@pytest.mark.parametrize("framework", ["torch", "tf"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_seed_same_scores_in_one_process(framework, name, data):
    _, first = fit_and_score(framework, name, data, seed=3)
    _disturb_global_random_state()
    _, second = fit_and_score(framework, name, data, seed=3)
    np.testing.assert_array_equal(first, second, err_msg=f"{framework} {name}: a second fit with seed 3 differs")
