"""The seeded pieces the PyTorch networks are built from. Twin: course_lib/tf/layers.py.

A network draws its initial weights and its dropout masks from generators of its own, seeded
from the model's ``seed``, never from torch's global generator: the same seed gives the same
network whatever ran before, and building one leaves the global generator where it was.

A recommender's ``fit`` then replaces these initial weights by the NumPy draw of
``course_lib.initializers`` (the same values in both twins); the draws here serve a network built
on its own (the notebooks' exercises and checks build ``NeuMFNet``, ``LatentFactorNet``, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["make_generator", "build_network", "default_init", "SeededDropout"]


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``: networks draw their initial weights from it,
    so a model's ``seed`` reaches its weights without touching torch's global generator."""
    return torch.Generator().manual_seed(int(seed))


def build_network(factory: Callable[[], nn.Module], device: torch.device) -> nn.Module:
    """``factory()`` on ``device``, with torch's global generator saved and restored around it.

    ``nn.Linear``, ``nn.Embedding`` and ``nn.GRU`` draw throwaway weights from the global generator
    in their constructors; the course's networks then draw their real weights from their own
    generator (``make_generator(seed)``). So building a network neither depends on nor moves the
    global generator.
    """
    with torch.random.fork_rng(devices=[]):
        network = factory()
    return network.to(device)


def default_init(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's default initialization of every ``nn.Linear``, ``nn.Embedding``, ``nn.GRU`` and
    ``nn.LayerNorm`` in ``module``, drawn from ``generator`` instead of torch's global generator.

    Linear: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what ``kaiming_uniform_(a=sqrt(5))``
    gives); Embedding: N(0, 1), the padding row 0; GRU: every weight U(-1/sqrt(H), 1/sqrt(H));
    LayerNorm: ones and zeros. The TensorFlow twins draw from the same distributions.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / layer.in_features ** 0.5
                layer.weight.uniform_(-bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=generator)
            elif isinstance(layer, nn.Embedding):
                layer.weight.normal_(0.0, 1.0, generator=generator)
                if layer.padding_idx is not None:
                    layer.weight[layer.padding_idx] = 0.0
            elif isinstance(layer, nn.GRU):
                bound = 1.0 / layer.hidden_size ** 0.5
                for parameter in layer.parameters():
                    parameter.uniform_(-bound, bound, generator=generator)
            elif isinstance(layer, nn.LayerNorm):
                nn.init.ones_(layer.weight)
                nn.init.zeros_(layer.bias)
    return module


class SeededDropout(nn.Module):
    """``nn.Dropout`` whose masks come from ``generator`` (the network's own), not torch's global one."""

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p, self.generator = float(p), generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator).to(x.device) >= self.p
        return x * keep / (1.0 - self.p)
