"""The twins' shared bases: device choice and weights under the PyTorch names."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.base import minibatches


def test_minibatches_cover_every_row_once():
    batches = list(minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(10, 0))


def test_torch_device_choice_and_errors():
    torch = pytest.importorskip("torch")
    from course_lib.torch import get_device

    assert get_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert get_device().type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            get_device("cuda")


def test_tf_device_choice_and_errors():
    tf = pytest.importorskip("tensorflow")
    from course_lib.tf import get_device

    assert get_device("cpu") == "/CPU:0"
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert get_device() == ("/GPU:0" if has_gpu else "/CPU:0")
    if not has_gpu:
        with pytest.raises(ValueError, match="no GPU"):
            get_device("gpu")
