"""One set of rules for arguments, shared by every model, baseline and loader (no framework import).

Every check raises a ``ValueError`` (a ``TypeError`` where the kind of object is wrong) whose
message has one format::

    `name` must be <rule>, got name=<value>.

followed, where it helps, by one sentence of advice. The rules:

- **integers are integers**: ``2.5``, ``2.0``, ``"2"`` and ``True`` are refused (nothing is
  truncated; a bool is not a count), NumPy integers are accepted;
- **numbers are finite numbers**: ``int``, ``float`` and NumPy scalars; a string such as
  ``"0.01"``, a bool, NaN and infinity are refused;
- **choices** list every allowed value in the message;
- ``epochs=0`` means **no training** in every model: the network is built (or copied, see
  ``NeuMF.from_pretrained``) and keeps its initial weights; ``history_["loss"]`` is empty;
- a **device** is spelled ``"cpu"``, ``"cuda"`` / ``"cuda:N"``, ``"mps"``, ``"gpu"`` / ``"gpu:N"`` or
  TensorFlow's ``"/GPU:N"`` / ``"/device:GPU:N"`` in both frameworks; anything else gets one
  short message (:func:`parse_device`); a device that is spelled right but absent gets one too
  (:func:`device_unavailable`);
- a **singular system** in any of the three EASE implementations raises
  :class:`SingularSystemError` with the one message of :func:`singular_system_error`;
- **weights** given to ``set_weights`` are checked whole (keys, shapes, finite numbers) before any
  is assigned (:func:`check_weights`).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "argument_error", "check_integer", "check_number", "check_choice", "check_bool", "check_epochs",
    "check_integer_sequence", "parse_device", "device_unavailable", "DEVICE_SPELLINGS",
    "SingularSystemError", "singular_system_error", "check_weights",
]


def _shown(name: str, value: Any) -> str:
    if isinstance(value, str):
        return f"{name}={value!r} (a string: write the number without quotes)" if _looks_numeric(value) \
            else f"{name}={value!r}"
    if isinstance(value, (bool, np.bool_)):
        return f"{name}={value!r} (a bool)"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{name}={text}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def argument_error(name: str, rule: str, value: Any, advice: str = "", error: type[Exception] = ValueError
                   ) -> Exception:
    """The error of every check: ``"`name` must be <rule>, got name=<value>. <advice>"``."""
    message = f"`{name}` must be {rule}, got {_shown(name, value)}."
    return error(f"{message} {advice}".strip())


def _range_rule(minimum: float | None, maximum: float | None, minimum_open: bool, maximum_open: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'above' if minimum_open else 'at least'} {minimum:g}")
    if maximum is not None:
        parts.append(f"{'below' if maximum_open else 'at most'} {maximum:g}")
    return " and ".join(parts)


def check_integer(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int``; refuses bools, floats (even ``2.0``), strings and values out of range."""
    rule = "an integer" + (f" {_range_rule(minimum, maximum, False, False)}" if minimum is not None
                           or maximum is not None else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise argument_error(name, rule, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise argument_error(name, rule, value)
    return int(value)


def check_number(name: str, value: Any, minimum: float | None = None, maximum: float | None = None,
                 minimum_open: bool = False, maximum_open: bool = False) -> float:
    """``value`` as a finite ``float`` within the bounds (``*_open``: the bound itself is excluded)."""
    bounds = _range_rule(minimum, maximum, minimum_open, maximum_open)
    rule = "a finite number" + (f" {bounds}" if bounds else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise argument_error(name, rule, value)
    number = float(value)
    if not np.isfinite(number):
        raise argument_error(name, rule, value)
    if minimum is not None and (number < minimum or (minimum_open and number == minimum)):
        raise argument_error(name, rule, value)
    if maximum is not None and (number > maximum or (maximum_open and number == maximum)):
        raise argument_error(name, rule, value)
    return number


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices`` (compared with ``==``, bools never match numbers)."""
    for choice in choices:
        if value is None or choice is None:
            if value is choice:
                return value
            continue
        if isinstance(value, (bool, np.bool_)) != isinstance(choice, bool):
            continue
        try:
            if bool(value == choice):
                return value
        except (TypeError, ValueError):  # an array compared with a string
            continue
    shown = ", ".join(repr(c) for c in choices)
    raise argument_error(name, f"one of {shown}", value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise argument_error(name, "True or False", value)
    return bool(value)


def check_epochs(value: Any, name: str = "epochs") -> int:
    """The number of passes over the data; 0 is allowed everywhere and means no training."""
    return check_integer(name, value, minimum=0)


def check_integer_sequence(name: str, values: Any, minimum: int = 1) -> tuple[int, ...]:
    """A tuple of integers (one integer is a tuple of one), each checked by :func:`check_integer`."""
    if isinstance(values, numbers.Integral) and not isinstance(values, (bool, np.bool_)):
        values = (values,)
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise argument_error(name, f"a sequence of integers of at least {minimum}", values)
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
            raise argument_error(name, f"a sequence of integers of at least {minimum}", tuple(values),
                                 f"The entry {value!r} is not.")
    return tuple(int(v) for v in values)


# ------------------------------------------------------------------------------------ devices
DEVICE_SPELLINGS = "'cpu', 'cuda' or 'cuda:N', 'mps', 'gpu' or 'gpu:N', '/GPU:N', or None (the best one here)"


def parse_device(device: Any) -> tuple[str, int]:
    """``(kind, index)`` of a device spelling, ``kind`` one of ``"cpu"``, ``"gpu"``, ``"mps"``.

    ``"cuda"`` and ``"gpu"`` name the same kind, so one spelling works in both frameworks. A
    ``torch.device`` is accepted through its string form. Anything else is one ``ValueError``.
    """
    text = str(device).strip()
    parts = text.lstrip("/").split(":")
    if parts and parts[0].lower() == "device":  # "/device:GPU:0"
        parts = parts[1:]
    kind = {"cuda": "gpu", "gpu": "gpu", "cpu": "cpu", "mps": "mps"}.get(parts[0].lower() if parts else "")
    index = parts[1] if len(parts) == 2 else "0"
    spelled = isinstance(device, str) or type(device).__name__ == "device"  # a str or a torch.device
    if not spelled or kind is None or len(parts) > 2 or not index.isdigit():
        raise argument_error("device", f"one of {DEVICE_SPELLINGS}", device)
    return kind, int(index)


def device_unavailable(device: Any, framework: str, found: str) -> ValueError:
    """The one message for a device spelled right but absent: ``found`` says what there is."""
    return ValueError(f"device={str(device)!r} was asked for, but {framework} sees {found} here; use device='cpu'.")


# ------------------------------------------------------------------------------------ EASE
class SingularSystemError(np.linalg.LinAlgError):  # LinAlgError is a ValueError
    """``X^T X + l2 * I`` could not be inverted to working precision."""


def singular_system_error(l2: float, n_items: int, detail: str = "", dtype: str = "") -> SingularSystemError:
    """The one message of the three EASE implementations (NumPy, PyTorch, TensorFlow)."""
    advice = " (or use dtype float64)" if dtype == "float32" else ""
    return SingularSystemError(
        f"EASE could not solve its system: X^T X + l2 * I ({n_items:,} x {n_items:,}) is singular at "
        f"working precision with l2={l2!r}{f' ({detail})' if detail else ''}. "
        f"Raise `l2` (hundreds suit MovieLens){advice}."
    )


# ------------------------------------------------------------------------------------ weights
def check_weights(weights: Any, expected: Mapping[str, tuple[int, ...]], owner: str) -> dict[str, np.ndarray]:
    """Every key, shape and value of ``weights`` against ``expected``, before anything is assigned.

    Returns the weights as float NumPy arrays. Refuses a non-mapping, missing or unknown keys, a
    wrong shape, a non-numeric array, and NaN or infinite values (naming the key and the count).
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"`weights` must be a dict of NumPy arrays (as get_weights() returns), "
                        f"got {type(weights).__name__}.")
    missing, unknown = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unknown:
        raise ValueError(f"`weights` do not match this {owner}: missing {missing}, unknown {unknown}. "
                         "Nothing was assigned.")
    checked = {}
    for name, shape in expected.items():
        value = np.asarray(weights[name])
        if value.dtype.kind not in "iuf":
            raise ValueError(f"`weights[{name!r}]` must hold numbers, got dtype {value.dtype}. Nothing was assigned.")
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"`weights[{name!r}]` has shape {tuple(value.shape)}, expected {tuple(shape)}. "
                             "Nothing was assigned.")
        bad = ~np.isfinite(value)
        if bad.any():
            raise ValueError(f"`weights[{name!r}]` holds {int(bad.sum())} NaN or infinite values. "
                             "Nothing was assigned.")
        checked[name] = value
    return checked
