"""The device guard itself: it must catch a factory call without a device, and only that."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tests.torch_tf.device_guard import DeviceGuard  # noqa: E402


def test_the_guard_flags_only_course_lib_calls_without_a_device(tmp_path, monkeypatch):
    import course_lib.torch.training as training

    # Calls from this test file are not course_lib's and are not flagged.
    with DeviceGuard() as guard:
        torch.zeros(3)
    assert guard.offences == []

    # A course_lib function that forgets the device is flagged; one that passes it is not.
    source = "import torch\ndef careless(n):\n    return torch.arange(n)\ndef careful(n, device):\n    return torch.arange(n, device=device)\n"
    namespace: dict = {}
    exec(compile(source, training.__file__, "exec"), namespace)  # code that claims to live in course_lib
    with DeviceGuard() as guard:
        namespace["careless"](4)
        namespace["careful"](4, torch.device("cpu"))
    assert len(guard.offences) == 1 and "arange without device=" in guard.offences[0]
