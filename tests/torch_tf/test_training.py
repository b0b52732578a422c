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


@pytest.mark.parametrize("spelling", ["tpu", "cuda:x", "/TPU:0", "gpu:0:1", ""])
def test_an_unknown_device_is_one_short_message_in_both_frameworks(spelling):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    from course_lib.tf import get_device as tf_device
    from course_lib.torch import get_device as torch_device
    from course_lib.validation import DEVICE_SPELLINGS

    messages = []
    for get_device in (torch_device, tf_device):
        with pytest.raises(ValueError) as caught:
            get_device(spelling)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == f"`device` must be one of {DEVICE_SPELLINGS}, got device={spelling!r}."


def test_an_absent_accelerator_is_one_short_line_in_both_frameworks(monkeypatch):
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    from course_lib.tf import get_device as tf_device
    from course_lib.torch import get_device as torch_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    with pytest.raises(ValueError) as from_torch:
        torch_device("cuda:1")
    with pytest.raises(ValueError) as from_tf:
        tf_device("cuda:1")
    assert str(from_torch.value) == "device='cuda:1' was asked for, but PyTorch sees no CUDA GPU here; use device='cpu'."
    assert str(from_tf.value) == "device='cuda:1' was asked for, but TensorFlow sees no GPU here; use device='cpu'."
    # the same spellings work in both
    assert torch_device("CPU") == torch.device("cpu") and tf_device("CPU") == "/CPU:0"
