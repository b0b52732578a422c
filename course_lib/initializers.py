"""The initial weights of every neural recommender, drawn once with NumPy for both frameworks.

Each twin builds its network in its own framework, then the shared loop replaces the weights with
``initial_weights(shapes, model._initializers(), model.seed)``: the same seed gives the PyTorch and
the TensorFlow twin the same starting point, as it already gives them the same batches. A model
says which distribution each weight starts from with rules, ``(pattern, initializer)`` pairs
matched in order against the weight keys (``fnmatch`` patterns on the PyTorch ``state_dict`` names,
which both twins use); a key that no rule matches is an error, so no weight is left as the
framework drew it.

Every key gets its own stream, seeded from ``(seed, crc32(key))``: a weight's start depends on the
seed and on its own name and shape only, not on which other layers the network has.

Shapes follow PyTorch: a dense layer's weight is (out, in), a GRU's weights are (3H, in) with the
gates r, z, n stacked.
"""

from __future__ import annotations

import fnmatch
import zlib
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["Initializer", "normal", "glorot_uniform", "he_normal", "torch_uniform", "constant", "zeros", "ones",
           "initial_weights"]

# (key, shape, all shapes, rng) -> the weight's initial value
Initializer = Callable[[str, tuple[int, ...], dict[str, tuple[int, ...]], np.random.Generator], np.ndarray]


def normal(std: float, padding_row: int | None = None) -> Initializer:
    """N(0, std^2) for every entry; ``padding_row`` (an embedding table's padding id) starts at 0."""

    def draw(key: str, shape: tuple[int, ...], shapes: dict, rng: np.random.Generator) -> np.ndarray:
        value = rng.normal(0.0, std, size=shape)
        if padding_row is not None:
            value[padding_row] = 0.0
        return value

    return draw


def glorot_uniform() -> Initializer:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) for a dense weight (out, in): Keras' default."""

    def draw(key: str, shape: tuple[int, ...], shapes: dict, rng: np.random.Generator) -> np.ndarray:
        fan_out, fan_in = _dense_shape(key, shape)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)

    return draw


def he_normal() -> Initializer:
    """N(0, 2 / fan_in) for a dense weight (out, in): keeps the variance through ReLU layers."""

    def draw(key: str, shape: tuple[int, ...], shapes: dict, rng: np.random.Generator) -> np.ndarray:
        _, fan_in = _dense_shape(key, shape)
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)

    return draw


def torch_uniform() -> Initializer:
    """PyTorch's default for ``nn.Linear`` and ``nn.GRU``: U(-1/sqrt(n), 1/sqrt(n)).

    n is the layer's fan-in for a dense weight (out, in) and for its bias (read from the weight
    ``<layer>.weight`` beside it), and the hidden size H for a GRU's ``weight_ih_l0``,
    ``weight_hh_l0``, ``bias_ih_l0`` and ``bias_hh_l0`` (shapes (3H, in) and (3H,)).
    """

    def draw(key: str, shape: tuple[int, ...], shapes: dict, rng: np.random.Generator) -> np.ndarray:
        layer, _, name = key.rpartition(".")
        if name.startswith(("weight_", "bias_")):  # a recurrent layer's gates
            n = shape[0] // 3
        elif name == "bias":
            weight = shapes.get(f"{layer}.weight")
            if weight is None or len(weight) != 2:
                raise ValueError(f"torch_uniform: the bias {key!r} has no dense weight {layer + '.weight'!r} "
                                 "beside it to read its fan-in from.")
            n = weight[1]
        else:
            n = _dense_shape(key, shape)[1]
        bound = 1.0 / np.sqrt(n)
        return rng.uniform(-bound, bound, size=shape)

    return draw


def constant(value: float) -> Initializer:
    """Every entry ``value`` (a bias at 0, a layer norm's scale at 1, a global mean)."""

    def draw(key: str, shape: tuple[int, ...], shapes: dict, rng: np.random.Generator) -> np.ndarray:
        return np.full(shape, float(value))

    return draw


def zeros() -> Initializer:
    return constant(0.0)


def ones() -> Initializer:
    return constant(1.0)


def initial_weights(shapes: dict[str, tuple[int, ...]], rules: Sequence[tuple[str, Initializer]],
                    seed: int) -> dict[str, np.ndarray]:
    """The initial value of every key of ``shapes``, as float32, from the first rule whose pattern matches.

    ``shapes``: key -> shape, the PyTorch ``state_dict`` names and layouts (``get_weights()``'s).
    ``rules``: ``(fnmatch pattern, initializer)`` pairs, tried in order.
    """
    weights = {}
    for key, shape in shapes.items():
        initializer = next((draw for pattern, draw in rules if fnmatch.fnmatchcase(key, pattern)), None)
        if initializer is None:
            patterns = ", ".join(repr(pattern) for pattern, _ in rules) or "none"
            raise ValueError(f"No initialization rule matches the weight {key!r} (patterns: {patterns}).")
        rng = np.random.default_rng([int(seed), zlib.crc32(key.encode())])
        value = np.asarray(initializer(key, tuple(shape), shapes, rng), dtype=np.float32)
        if value.shape != tuple(shape):
            raise ValueError(f"The initializer of {key!r} gave shape {value.shape}, not {tuple(shape)}.")
        weights[key] = value
    return weights


def _dense_shape(key: str, shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"{key!r} has shape {shape}: a dense initializer needs a 2-D weight (out, in).")
    return shape[0], shape[1]
