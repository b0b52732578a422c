"""Tensors on the wrong device, caught on a machine that has only a CPU.

First the two checks of tests/torch_tf/device_guard.py on code made to fail them, then every
PyTorch recommender of course_lib fitted and scored under them.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from course_lib.torch.training import TorchRecommender  # noqa: E402
from tests.torch_tf.device_guard import MODELS, DeviceGuard, fit_and_score, tensors_off_device, tiny_data  # noqa: E402

TORCH_FILES = ["ease", "mlp", "autoencoder", "two_tower_pointwise", "two_tower_retrieval", "graph", "latent_factor", "bpr", "sequence"]


def _as_course_lib(source: str) -> dict:
    """Functions compiled as if they lived in course_lib (the guard judges code by its file)."""
    import course_lib.torch.training as training

    namespace: dict = {}
    exec(compile(source, training.__file__, "exec"), namespace)
    return namespace


def test_the_guard_flags_only_course_lib_calls_without_a_device():
    # Calls from this test file are not course_lib's and are not flagged.
    with DeviceGuard() as guard:
        torch.zeros(3)
        torch.ones(2).numpy()
    assert guard.offences == []

    # A course_lib function that forgets the device is flagged; one that passes it is not.
    code = _as_course_lib("import torch\n"
                          "def careless(n):\n    return torch.arange(n)\n"
                          "def careful(n, device):\n    return torch.arange(n, device=device)\n")
    with DeviceGuard() as guard:
        code["careless"](4)
        code["careful"](4, torch.device("cpu"))
    assert len(guard.offences) == 1 and "arange without device=" in guard.offences[0]


def test_the_guard_allows_what_a_module_builds_in_its_constructor():
    code = _as_course_lib("import torch\nfrom torch import nn\n"
                          "def table(n):\n    return nn.Parameter(torch.randn(n, 2))\n"
                          "class Net(nn.Module):\n"
                          "    def __init__(self):\n"
                          "        super().__init__()\n"
                          "        self.linear = nn.Linear(3, 2)\n"                 # torch.empty inside PyTorch
                          "        self.table = table(5)\n"                          # a helper called by __init__
                          "        self.register_buffer('mask', torch.ones(5))\n"
                          "    def forward(self, x):\n"
                          "        return self.linear(x) * torch.ones(2)\n")         # at run time: an offence
    with DeviceGuard() as guard:
        network = code["Net"]()
        torch.optim.Adam(network.parameters()).step()  # PyTorch's own factories are not ours to judge
    assert guard.offences == []
    with DeviceGuard() as guard:
        network(torch.zeros(1, 3, device="cpu"))
    assert len(guard.offences) == 1 and "ones without device=" in guard.offences[0]


def test_the_guard_flags_numpy_of_a_tensor_not_moved_to_the_cpu():
    code = _as_course_lib("import numpy as np\n"
                          "def careless(x):\n    return (2 * x).numpy()\n"
                          "def careless_asarray(x):\n    return np.asarray(2 * x)\n"
                          "def careful(x):\n    return (2 * x).cpu().numpy()\n"
                          "def careful_to(x):\n    return (2 * x).detach().to('cpu').numpy()\n")
    x = torch.ones(3)
    with DeviceGuard() as guard:
        for name in ("careless", "careless_asarray", "careful", "careful_to"):
            code[name](x)
    assert len(guard.offences) == 2 and all("numpy of a tensor not moved" in o for o in guard.offences)


def test_tensors_off_device_finds_strays():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)
            self.register_buffer("kept", torch.zeros(2))
            self.stray = torch.ones(2)            # .to(device) leaves a plain attribute behind

    class Model:
        pass

    model = Model()
    model.network_, model.device_ = Net(), torch.device("cpu")
    model.table_ = torch.zeros(3)
    assert tensors_off_device(model) == ["network_.stray is a plain tensor attribute (on cpu): "
                                         "register it as a buffer so that .to(device) moves it"]
    # A network that stayed elsewhere: "meta" plays the part of the other device.
    model.network_ = nn.Linear(2, 2).to("meta")
    model.cached_ = (torch.zeros(1, device="meta"), torch.zeros(1))
    problems = tensors_off_device(model)
    assert sorted(problems) == ["cached_[0] is on meta, not cpu",
                                "parameter bias is on meta, not cpu", "parameter weight is on meta, not cpu"]


def test_every_pytorch_recommender_is_in_the_device_tests():
    found = set()
    for file in TORCH_FILES:
        module = importlib.import_module(f"course_lib.torch.{file}")
        found |= {name for name, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, TorchRecommender) and cls.__module__ == module.__name__
                  and not name.startswith("_") and hasattr(cls, "score") and "fit" in dir(cls)
                  and name != "TorchSteps"}
    assert found == set(MODELS), f"add to MODELS in tests/torch_tf/device_guard.py: {sorted(found - set(MODELS))}"


@pytest.fixture(scope="module")
def data():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is fastest on a shared CPU
    yield tiny_data()
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", MODELS)
def test_no_tensor_is_made_on_the_wrong_device(name, data):
    """Fit and score under the guard: every tensor course_lib makes names its device, and after
    ``fit`` everything the model holds sits on ``model.device_``."""
    with DeviceGuard() as guard:
        model, scores = fit_and_score("torch", name, data, device="cpu")
    assert sorted(set(guard.offences)) == [], f"{name}: tensors made without a device"
    assert tensors_off_device(model) == [], f"{name}: tensors left off model.device_"
    assert model.device_ == torch.device("cpu")
    assert scores.ndim == 2 and np.isfinite(scores).all()
