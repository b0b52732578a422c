"""Watching a student's PyTorch training loop: which calls it makes, in which order, on which batches.

Imported by the checks inside their functions only (it imports torch). ``TrainingSpy`` records,
while it is active, an event list of

- ``("forward", n_rows, training_mode, grad_enabled, ids)`` for every call of a watched network,
- ``("backward",)`` for every backward pass that reaches the network's parameters,
- ``("zero",)`` for every ``optimizer.zero_grad()`` or ``module.zero_grad()``,
- ``("step",)`` for every ``optimizer.step()``,

from which the checks tell one ``zero_grad`` per step from gradients that pile up, count batches,
read the order of the examples and the mode the network was in.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook


class SpyNetwork(nn.Module):
    """Wraps ``inner`` and reports every forward call to ``spy`` (the ids of the first argument)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.spy: TrainingSpy | None = None

    def forward(self, *args: Any) -> Any:
        if self.spy is not None and self.spy.active:
            first = args[0] if args else None
            rows = int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else -1
            ids = tuple(a.detach().reshape(len(a), -1)[:, 0].tolist() if isinstance(a, torch.Tensor) and a.dim() > 0
                        else () for a in args)
            self.spy.events.append(("forward", rows, self.training, torch.is_grad_enabled(), ids))
        return self.inner(*args)


class TrainingSpy:
    """A context manager that records the events of the module docstring for ``network``."""

    def __init__(self, network: SpyNetwork) -> None:
        self.network = network
        self.events: list[tuple] = []
        self.active = False

    def __enter__(self) -> TrainingSpy:
        self.network.spy = self
        self.active = True
        spy = self
        self._original_optimizer_zero = torch.optim.Optimizer.zero_grad
        self._original_module_zero = nn.Module.zero_grad
        original_optimizer_zero, original_module_zero = self._original_optimizer_zero, self._original_module_zero

        def optimizer_zero(optimizer: Any, *args: Any, **kwargs: Any) -> Any:
            if spy.active:
                spy.events.append(("zero",))
            return original_optimizer_zero(optimizer, *args, **kwargs)

        def module_zero(module: Any, *args: Any, **kwargs: Any) -> Any:
            if spy.active and (module is spy.network or module is spy.network.inner):
                spy.events.append(("zero",))
            return original_module_zero(module, *args, **kwargs)

        torch.optim.Optimizer.zero_grad = optimizer_zero
        nn.Module.zero_grad = module_zero
        self._step_handle = register_optimizer_step_pre_hook(lambda *a, **k: spy.events.append(("step",)))
        first = next(self.network.parameters())
        self._backward_handle = first.register_hook(self._on_backward)
        return self

    def _on_backward(self, grad: Any) -> None:
        if self.active:
            self.events.append(("backward",))

    def __exit__(self, *exc: Any) -> None:
        self.active = False
        torch.optim.Optimizer.zero_grad = self._original_optimizer_zero
        nn.Module.zero_grad = self._original_module_zero
        self._step_handle.remove()
        self._backward_handle.remove()
        self.network.spy = None

    # ------------------------------------------------------------------ readings
    def training_forwards(self) -> list[tuple]:
        """The forward calls that a backward pass followed (before the next forward)."""
        found = []
        for index, event in enumerate(self.events):
            if event[0] != "forward":
                continue
            for later in self.events[index + 1:]:
                if later[0] == "forward":
                    break
                if later[0] == "backward":
                    found.append(event)
                    break
        return found

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event[0] == kind)

    def gradient_problem(self) -> str | None:
        """``None`` when every step used the gradient of one backward pass; else 'accumulates', 'erased'
        or 'once' (zero_grad once before the loop and never again)."""
        backwards_since_zero, steps, accumulated, erased = 0, 0, 0, 0
        for event in self.events:
            if event[0] == "zero":
                backwards_since_zero = 0
            elif event[0] == "backward":
                backwards_since_zero += 1
            elif event[0] == "step":
                steps += 1
                if backwards_since_zero > 1:
                    accumulated += 1
                elif backwards_since_zero == 0:
                    erased += 1
        if steps and erased == steps:
            return "erased"
        if accumulated and self.count("zero") == 1:
            return "once"
        if accumulated:
            return "accumulates"
        if erased:
            return "erased"
        return None

    def step_problem(self, n_batches: int, zeroed_once: str) -> str | None:
        """A hint when the optimizer did not take exactly one step per batch, each on the gradient of
        one backward pass; ``None`` otherwise. ``zeroed_once`` says where the single reset sat."""
        if self.count("step") != n_batches:
            return (f"optimizer.step() ran {self.count('step')} times for {n_batches} batches: one update "
                    "per batch.")
        problem = self.gradient_problem()
        if self.count("zero") == 0 or problem == "accumulates":
            return ("the gradients add up from batch to batch: call optimizer.zero_grad() once per batch, before "
                    "loss.backward().")
        if problem == "once":
            return (f"optimizer.zero_grad() runs {zeroed_once}, so from the second batch on the gradients add up: "
                    "reset them for every batch, before loss.backward().")
        if problem == "erased":
            return ("optimizer.zero_grad() runs between loss.backward() and optimizer.step(), so the step sees no "
                    "gradient: reset the gradients before the backward pass.")
        return None
