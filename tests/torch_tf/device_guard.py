"""Catch tensors that course_lib makes without saying on which device.

On a machine with only a CPU every tensor lands on the CPU, so a model that forgets
``device=self.device_`` works here and breaks on the first GPU. Two checks close that gap:

``DeviceGuard``
    A ``TorchFunctionMode`` that records every tensor factory call (``torch.zeros``,
    ``torch.arange``, ``torch.as_tensor``, ...) whose caller is course_lib's own code and that
    passes no ``device``. Calls made inside PyTorch itself (an optimizer's step counter, the
    default initialization of ``nn.Linear``) are PyTorch's business and are not recorded.
    Calls made *while an ``nn.Module`` is being constructed* are allowed too: a network builds
    its parameters and buffers on the CPU and the recommender moves it whole with
    ``.to(self.device_)``. What ``.to`` cannot move is a tensor kept as a plain attribute, and
    that is what the second check looks for.

``tensors_off_device(model)``
    After ``fit``: every parameter and buffer of ``model.network_`` is on ``model.device_``, no
    sub-module keeps a tensor as a plain attribute (``Module.to`` would leave it behind), and
    every tensor the recommender keeps (``adjacency_``, lookup tables, cached embeddings) is on
    ``model.device_``.

Together: a factory call outside a constructor must name its device, and whatever a
constructor made must end up registered with the module, so ``.to(device)`` moves it.
"""

from __future__ import annotations

import sys
import weakref
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

PACKAGE = str(Path(__file__).resolve().parents[2] / "course_lib")
TORCH = str(Path(torch.__file__).resolve().parent)
OPTIM = str(Path(TORCH) / "optim")

FACTORIES = {
    torch.zeros, torch.ones, torch.empty, torch.full, torch.arange, torch.rand, torch.randn, torch.randint,
    torch.randperm, torch.eye, torch.linspace, torch.logspace, torch.tensor, torch.as_tensor,
    torch.sparse_coo_tensor, torch.sparse_csr_tensor, torch.from_numpy, torch.normal, torch.tril_indices,
    torch.triu_indices, torch.scalar_tensor, torch.empty_strided, torch.bernoulli,
}
# torch.from_numpy takes no device: it always makes a CPU tensor, so a call from course_lib is an
# offence unless it happens while a module is constructed.


def _is_module_constructor(frame: FrameType) -> bool:
    """True for the frame of ``SomeModule.__init__`` (any ``nn.Module`` subclass, ours or PyTorch's)."""
    if frame.f_code.co_name != "__init__" or "self" not in frame.f_code.co_varnames[:1]:
        return False
    return isinstance(frame.f_locals.get("self"), nn.Module)


def _in(path: str, package: str) -> bool:
    return path.startswith(package)


def _names_cpu(args: tuple, kwargs: dict) -> bool:
    targets = [*args[1:], kwargs.get("device")]
    return any(isinstance(t, (str, torch.device)) and torch.device(t).type == "cpu" for t in targets)


class DeviceGuard(TorchFunctionMode):
    """Records ``offences``, one per call, of two kinds:

    - ``"<factory> without device= at <file>:<line>"``: a tensor made on the default device;
    - ``"numpy of a tensor not moved with .cpu() at <file>:<line>"``: ``Tensor.numpy()`` (or
      ``np.asarray(tensor)``) on a tensor that did not come out of ``.cpu()`` / ``.to("cpu")``,
      which fails for a CUDA or MPS tensor. On the CPU ``.cpu()`` returns the tensor itself, so
      the guard remembers which tensors went through it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.offences: list[str] = []
        self._on_host: dict[int, weakref.ref] = {}  # id -> weak reference, dropped when the tensor dies

    def _remember(self, tensor: Any) -> None:
        if isinstance(tensor, torch.Tensor):
            key = id(tensor)
            self._on_host[key] = weakref.ref(tensor, lambda _, key=key: self._on_host.pop(key, None))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            offence = self._offence(func.__name__ + " without device=", sys._getframe(1))
            if offence is not None:
                self.offences.append(offence)
        elif func in (torch.Tensor.numpy, torch.Tensor.__array__) and args and id(args[0]) not in self._on_host:
            offence = self._offence("numpy of a tensor not moved with .cpu()", sys._getframe(1))
            if offence is not None:
                self.offences.append(offence)
        result = func(*args, **kwargs)
        if func is torch.Tensor.cpu or (func is torch.Tensor.to and _names_cpu(args, kwargs)):
            self._remember(result)
        return result

    @staticmethod
    def _offence(what: str, frame: FrameType | None) -> str | None:
        # An optimizer's own state (torch 2.11's Adam makes its step counter with torch.tensor and no
        # device; 2.13 passes one): PyTorch's business, whoever called step().
        innermost = frame
        while innermost is not None and innermost.f_code.co_filename == __file__:
            innermost = innermost.f_back
        if innermost is not None and _in(innermost.f_code.co_filename, OPTIM):
            return None
        # The caller: the innermost frame outside PyTorch and outside this file.
        while frame is not None and (_in(frame.f_code.co_filename, TORCH) or frame.f_code.co_filename == __file__):
            if _is_module_constructor(frame):  # e.g. nn.Linear's own weights, built inside our network
                return None
            frame = frame.f_back
        if frame is None or not _in(frame.f_code.co_filename, PACKAGE):
            return None  # not course_lib's call (a test, a notebook, PyTorch itself)
        caller = frame
        # A module under construction anywhere in course_lib's or PyTorch's part of the stack.
        while frame is not None and (_in(frame.f_code.co_filename, PACKAGE) or _in(frame.f_code.co_filename, TORCH)):
            if _is_module_constructor(frame):
                return None
            frame = frame.f_back
        return f"{what} at {caller.f_code.co_filename}:{caller.f_lineno}"


def _tensors(value: Any, name: str):
    """(name, tensor) for a tensor, or the tensors one level inside a tuple, list or dict."""
    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            if isinstance(item, torch.Tensor):
                yield f"{name}[{index}]", item
            elif isinstance(item, (tuple, list)):
                yield from ((f"{name}[{index}][{j}]", t) for j, t in enumerate(item) if isinstance(t, torch.Tensor))
    elif isinstance(value, dict):
        yield from ((f"{name}[{key!r}]", t) for key, t in value.items() if isinstance(t, torch.Tensor))


_MODULE_REGISTRIES = {"_parameters", "_buffers", "_modules"}


def tensors_off_device(model: Any) -> list[str]:
    """What of a fitted TorchRecommender is not on ``model.device_``, or could not follow it there.

    Returns one line per problem: a parameter or buffer of ``model.network_`` on another device,
    a tensor kept as a plain attribute of a sub-module (``.to(device)`` does not move those), or
    a tensor attribute of the recommender itself on another device.
    """
    device = torch.device(model.device_)
    problems = []

    def elsewhere(tensor: torch.Tensor) -> bool:
        return tensor.device.type != device.type or (device.index is not None and tensor.device.index != device.index)

    for kind, named in (("parameter", model.network_.named_parameters()), ("buffer", model.network_.named_buffers())):
        problems += [f"{kind} {name} is on {t.device}, not {device}" for name, t in named if elsewhere(t)]
    for module_name, module in model.network_.named_modules():
        registered = set(module._parameters) | set(module._buffers)
        for attribute, value in vars(module).items():
            if attribute in _MODULE_REGISTRIES:
                continue
            for name, tensor in _tensors(value, attribute):
                if name not in registered and not isinstance(tensor, nn.Parameter):
                    where = f"{module_name}.{name}" if module_name else name
                    problems.append(f"network_.{where} is a plain tensor attribute (on {tensor.device}): "
                                    "register it as a buffer so that .to(device) moves it")
    for attribute, value in vars(model).items():
        if attribute == "network_":
            continue
        problems += [f"{name} is on {t.device}, not {device}" for name, t in _tensors(value, attribute) if elsewhere(t)]
    return problems


# ------------------------------------------------------------------ the recommenders every device test runs
# name -> (file in course_lib/torch and course_lib/tf, tiny arguments, data: "ratings" or "sequences").
# One epoch on a tiny synthetic set: the device tests check where tensors live, not accuracy.
MODELS: dict[str, tuple[str, dict[str, Any], str]] = {
    "EASE": ("ease", {"l2": 10.0}, "ratings"),
    "ExplicitNCF": ("mlp", {"embedding_dim": 4, "hidden_dims": (8,), "batch_size": 256}, "ratings"),
    "GMF": ("mlp", {"embedding_dim": 4, "batch_size": 512}, "ratings"),
    "MLP": ("mlp", {"embedding_dim": 4, "hidden_dims": (8,), "batch_size": 512}, "ratings"),
    "NeuMF": ("mlp", {"embedding_dim": 4, "hidden_dims": (8,), "batch_size": 512}, "ratings"),
    "HybridNeuMF": ("mlp", {"embedding_dim": 4, "hidden_dims": (8,), "batch_size": 512}, "ratings"),
    "DenoisingAutoencoder": ("autoencoder", {"hidden_dim": 8, "latent_dim": 4, "batch_size": 16}, "ratings"),
    "MultDAE": ("autoencoder", {"hidden_dim": 8, "latent_dim": 4, "batch_size": 16}, "ratings"),
    "MultVAE": ("autoencoder", {"hidden_dim": 8, "latent_dim": 4, "batch_size": 16}, "ratings"),
    "ConcatMLP": ("two_tower", {"embedding_dim": 4, "hidden_dims": (8,), "batch_size": 512}, "ratings"),
    "TwoTowerMLP": ("two_tower", {"embedding_dim": 4, "hidden_dims": (8, 4), "batch_size": 512}, "ratings"),
    "TwoTowerRetrieval": ("two_tower", {"embedding_dim": 4, "feature_dim": 2, "hidden_dim": 8, "output_dim": 4,
                                        "batch_size": 128}, "ratings"),
    "LightGCN": ("graph", {"embedding_dim": 4, "n_layers": 2, "batch_size": 256, "edge_dropout": 0.1}, "ratings"),
    "BiasOnly": ("latent_factor", {"batch_size": 256}, "ratings"),
    "LatentFactor": ("latent_factor", {"embedding_dim": 4, "batch_size": 256}, "ratings"),
    "BPRMF": ("bpr", {"embedding_dim": 4, "batch_size": 256}, "ratings"),
    "MeanPooling": ("sequence", {"embedding_dim": 4, "batch_size": 64}, "sequences"),
    "GRURecommender": ("sequence", {"embedding_dim": 4, "batch_size": 64}, "sequences"),
    "SelfAttention": ("sequence", {"embedding_dim": 4, "n_blocks": 1, "n_heads": 2, "batch_size": 64}, "sequences"),
}


def tiny_data() -> dict[str, Any]:
    """A tiny synthetic set with ratings and side features, and its next-item sequences."""
    import course_lib
    from course_lib.sequences import sequence_split

    ratings = course_lib.make_synthetic(n_users=40, n_items=60, mean_per_user=12, min_per_user=5, seed=0)
    sequences, held_out = sequence_split(ratings, max_length=6, test_fraction=0.25, seed=0)
    return {"ratings": ratings, "sequences": sequences, "sequence_inputs": held_out.inputs}


def fit_and_score(framework: str, name: str, data: dict[str, Any], device: Any = None,
                  seed: int = 0) -> tuple[Any, np.ndarray]:
    """Fit ``course_lib.<framework>.<file>.<name>`` for one epoch on ``data`` and score a few users
    (or the held-out sequences); returns the fitted model and its scores."""
    import importlib
    import inspect

    file, arguments, kind = MODELS[name]
    cls = getattr(importlib.import_module(f"course_lib.{framework}.{file}"), name)
    init = inspect.signature(cls.__init__).parameters
    fit = inspect.signature(cls.fit).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in init.values())
    arguments = {**arguments, "device": device}
    for key, value in (("seed", seed), ("epochs", 1)):
        if key in init or open_ended:
            arguments[key] = value
    fit_arguments = {}
    if "show_progress" in fit:
        fit_arguments["show_progress"] = False
    elif "show_progress" in init or open_ended:
        arguments["show_progress"] = False
    model = cls(**arguments).fit(data[kind], **fit_arguments)
    queries = data["sequence_inputs"] if kind == "sequences" else np.arange(8)
    return model, model.score(queries)
