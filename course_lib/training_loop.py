"""The one training loop of every neural recommender of the course, in both frameworks.

``TrainingLoop.fit_loop`` owns everything that is not a framework's business: the epochs, the
batches (drawn with NumPy from ``np.random.default_rng(self.seed)``, so both twins of a pair see
the same batches in the same order), the learning-rate schedule, the progress bar, the timing,
validation with any metric at any cutoff, the best checkpoint, patience, and ``history_``.
A twin supplies only its network and one framework step (loss, gradient, update).

``history_`` (the same schema for every neural model):

- ``loss``: the mean training loss of each epoch (penalty included);
- ``seconds``: the training time so far at the end of each epoch, validation excluded;
- ``learning_rate``: the learning rate of each epoch;
- with a ``validation`` set, ``validation_<metric>`` for the model's ``validation_metric``
  (``validation_ndcg@10``, ``validation_recall@20``, ``validation_rmse``, ``validation_mrr``, ...),
  and ``validation_loss`` where the model has one.

With validation, ``best_epoch_`` is the 1-based epoch of the best validation value and
``stopped_epoch_`` the last epoch trained; ``keep_best`` restores the best epoch's weights and
``patience`` stops after that many epochs without improvement, so ``epochs`` is a ceiling.

Initial weights: each family's base gives ``_initializers()`` (rules of ``course_lib.initializers``)
and the twins start from ``initial_weights(shapes, rules, seed)``, drawn with NumPy, so the same seed
gives both twins the same initial weights as well as the same batches.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from course_lib.base import progress
from course_lib.initializers import Initializer, initial_weights
from course_lib.validation import check_choice, check_epochs, check_integer, check_number

__all__ = ["TrainingLoop", "SCHEDULERS", "KEEP_BEST", "learning_rate_at", "parse_validation_metric",
           "history_keys", "check_validation_split"]

SCHEDULERS = (None, "step", "exponential", "cosine")
KEEP_BEST = (None, "metric", "loss")
RANKING_METRICS = ("ndcg", "recall", "precision", "hit_rate", "map", "mrr", "f1")
RATING_METRICS = ("rmse", "mae")
SEQUENCE_METRICS = ("mrr", "hit_rate")
LOWER_IS_BETTER = ("rmse", "mae")


def learning_rate_at(scheduler: str | None, learning_rate: float, epoch: int, epochs: int) -> float:
    """The learning rate of epoch ``epoch`` (0-based) under a per-epoch schedule.

    ``None``: constant; ``"step"``: halved every ``max(1, epochs // 3)`` epochs (PyTorch's
    ``StepLR``); ``"exponential"``: times 0.9 each epoch (``ExponentialLR``); ``"cosine"``: from
    ``learning_rate`` down to 0 along half a cosine (``CosineAnnealingLR`` with ``T_max=epochs``).
    """
    if scheduler is None:
        return learning_rate
    if scheduler == "step":
        return learning_rate * 0.5 ** (epoch // max(1, epochs // 3))
    if scheduler == "exponential":
        return learning_rate * 0.9**epoch
    return learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / max(1, epochs)))


def parse_validation_metric(value: Any, task: str) -> tuple[str, int | None]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; ``"rmse"`` -> ``("rmse", None)``; a ValueError names what is allowed.

    ``task`` is ``"ranking"`` (top-k metrics, a cutoff required), ``"rating"`` (``rmse``, ``mae``)
    or ``"sequence"`` (``mrr`` over the whole ranking, ``hit_rate@k``).
    """
    allowed = {"ranking": "ndcg@10, recall@20, precision@5, hit_rate@10, map@10, mrr@10, f1@10",
               "rating": "rmse, mae", "sequence": "mrr, hit_rate@10"}[task]
    problem = f"`validation_metric` must be one of the forms {allowed}; got {value!r}."
    if not isinstance(value, str):
        raise ValueError(problem)
    name, _, cutoff = value.partition("@")
    if task == "rating":
        if name not in RATING_METRICS or cutoff:
            raise ValueError(problem)
        return name, None
    if task == "sequence" and name == "mrr" and not cutoff:
        return name, None
    names = RANKING_METRICS if task == "ranking" else ("hit_rate",)
    if name not in names or not cutoff.isdigit() or int(cutoff) < 1:
        raise ValueError(problem)
    return name, int(cutoff)


def history_keys(validation_metric: str, has_validation_loss: bool, validated: bool) -> set[str]:
    """The keys ``history_`` has after a fit (the schema, for the contract tests)."""
    keys = {"loss", "seconds", "learning_rate"}
    if validated:
        keys.add(f"validation_{validation_metric}")
        if has_validation_loss:
            keys.add("validation_loss")
    return keys


def check_validation_split(train: Any, validation: Any) -> None:
    """``validation`` is None or an Interactions over the same users and items as ``train``."""
    if validation is None:
        return
    from course_lib.base import check_interactions

    check_interactions(validation, "validation")
    if validation.shape != train.shape:
        raise ValueError(f"`validation` is {validation.shape} (users, items), `train` {train.shape}: "
                         "split one Interactions (random_split, leave_last_out) so both share the ids.")


class TrainingLoop:
    """Mixin with the fit loop of every neural recommender, in both frameworks.

    The model stores ``epochs``, ``learning_rate``, ``seed`` and may store ``scheduler``,
    ``keep_best``, ``patience`` and ``validation_metric`` (class defaults below). It provides:

    - ``_epoch_batches(rng)``: the batches of one epoch (any objects), drawn from ``rng``;
    - ``_train_batch(batch)``: one optimizer step; returns the batch's mean loss, or
      ``(mean loss, weight)`` when batches differ in size and the epoch's loss should weight them;
    - ``_set_learning_rate(value)``;
    - ``get_weights()`` / ``set_weights()`` (for ``keep_best``) and the scoring ``evaluate`` needs;
    - optionally ``_validation_loss(validation)``.

    ``_task`` says how validation is measured: ``"ranking"`` (``course_lib.evaluate`` on an
    Interactions split of the same users and items), ``"rating"`` (``predict`` on held-out ratings)
    or ``"sequence"`` (``evaluate_next_item`` on held-out SequenceData).
    """

    _task = "ranking"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A fit defined on a framework-free half (which is no Recommender) changes the model only when
        # it succeeds, as Recommender's own subclasses do (course_lib.base._transactional).
        super().__init_subclass__(**kwargs)
        from course_lib.base import _transactional

        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "__transactional__", False):
            cls.fit = _transactional(fit)

    scheduler: str | None = None
    keep_best: str | None = None
    patience: int | None = None
    validation_metric: str | None = None  # None: the task's default (ndcg@10, rmse, mrr)
    epochs: int
    learning_rate: float
    seed: int

    # ---------------------------------------------------------------- arguments
    def _metric(self) -> tuple[str, str, int | None]:
        """(label, name, cutoff) of the validation metric, e.g. ("ndcg@10", "ndcg", 10)."""
        label = self.validation_metric or {"ranking": "ndcg@10", "rating": "rmse", "sequence": "mrr"}[self._task]
        name, cutoff = parse_validation_metric(label, self._task)
        return label, name, cutoff

    def _check_loop_arguments(self, validation: Any) -> None:
        """The arguments every neural model shares and the loop's own; call before any state changes."""
        from course_lib.optim import OPTIMIZERS

        check_number("l2", self.l2, minimum=0)  # type: ignore[attr-defined]
        check_choice("optimizer", self.optimizer, OPTIMIZERS)  # type: ignore[attr-defined]
        check_number("learning_rate", self.learning_rate, minimum=0, minimum_open=True)
        check_epochs(self.epochs)
        check_integer("batch_size", self.batch_size, minimum=1)  # type: ignore[attr-defined]
        check_integer("seed", self.seed, minimum=0)
        check_choice("scheduler", self.scheduler, SCHEDULERS)
        check_choice("keep_best", self.keep_best, KEEP_BEST)
        if self.patience is not None:
            check_integer("patience", self.patience, minimum=1)
        self._metric()
        if validation is None and (self.keep_best is not None or self.patience is not None):
            raise ValueError(f"keep_best={self.keep_best!r} / patience={self.patience!r} need a `validation` set: "
                             "pass fit(train, validation=...) or leave both at None.")
        if self.keep_best == "loss" and not hasattr(self, "_validation_loss"):
            raise ValueError(f"{type(self).__name__} has no validation loss: use keep_best='metric'.")

    # ---------------------------------------------------------------- the loop
    def _validation_value(self, train: Any, validation: Any) -> float:
        label, name, cutoff = self._metric()
        if self._task == "ranking":
            from course_lib.evaluation import evaluate

            return float(evaluate(self, train, validation, cutoffs=cutoff, beyond_accuracy=False)[name].iloc[0])
        if self._task == "rating":
            errors = self.predict(validation.users, validation.items) - validation.ratings  # type: ignore[attr-defined]
            return float(np.sqrt(np.mean(errors**2)) if name == "rmse" else np.mean(np.abs(errors)))
        from course_lib.sequences import evaluate_next_item

        result = evaluate_next_item(self, validation, k=cutoff or 10)
        return float(result["mrr"] if name == "mrr" else result[label])

    def _fit_loop(self, train: Any, validation: Any = None, show_progress: bool | None = True) -> None:
        """Train for at most ``epochs`` epochs; fills ``history_`` (see the module's docstring)."""
        label, name, _ = self._metric()
        lower_is_better = name in LOWER_IS_BETTER
        has_validation_loss = hasattr(self, "_validation_loss")
        rng = np.random.default_rng(self.seed)
        self.history_: dict[str, list[float]] = {"loss": [], "seconds": [], "learning_rate": []}
        if validation is not None:
            self.history_[f"validation_{label}"] = []
            if has_validation_loss:
                self.history_["validation_loss"] = []
        best, best_weights, since_best, seconds = -math.inf, None, 0, 0.0
        if show_progress is None:
            show_progress = getattr(self, "show_progress", True)
        title = f"{type(self).__name__} {getattr(self, 'framework', '')}".strip()  # e.g. "NeuMF (PyTorch)"
        bar = progress(range(self.epochs), show_progress, title)
        for epoch in bar:
            started = time.perf_counter()
            rate = learning_rate_at(self.scheduler, self.learning_rate, epoch, self.epochs)
            self._set_learning_rate(rate)
            total, weight = 0.0, 0.0
            for batch in self._epoch_batches(rng):
                loss, size = _loss_and_weight(self._train_batch(batch))
                total, weight = total + loss * size, weight + size
            seconds += time.perf_counter() - started
            self.history_["loss"].append(total / max(weight, 1e-12))
            self.history_["seconds"].append(seconds)
            self.history_["learning_rate"].append(rate)
            self.stopped_epoch_ = epoch + 1
            if validation is None:
                continue
            value = self._validation_value(train, validation)
            self.history_[f"validation_{label}"].append(value)
            if has_validation_loss:
                self.history_["validation_loss"].append(float(self._validation_loss(validation)))  # type: ignore[attr-defined]
            goal = -self.history_["validation_loss"][-1] if self.keep_best == "loss" else (
                -value if lower_is_better else value)
            if goal > best:
                best, since_best, self.best_epoch_ = goal, 0, epoch + 1
                if self.keep_best is not None:
                    best_weights = self.get_weights()  # type: ignore[attr-defined]
            else:
                since_best += 1
            if hasattr(bar, "set_postfix"):
                bar.set_postfix({"loss": f"{self.history_['loss'][-1]:.4f}", label: f"{value:.4f}",
                                 "best_epoch": self.best_epoch_})
            if self.patience is not None and since_best >= self.patience:
                break
        if best_weights is not None:
            self.set_weights(best_weights)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- the initial weights
    def _initializers(self) -> list[tuple[str, Initializer]]:  # pragma: no cover - each family's base gives them
        """``(pattern, initializer)`` rules for every weight key (``course_lib.initializers``)."""
        raise NotImplementedError(f"{type(self).__name__} gives no initialization rules")

    def _start_from_initial_weights(self) -> None:
        """Replace the weights the framework drew by ``initial_weights(..., self.seed)``: drawn with
        NumPy from the model's seed, so both twins start from the same weights. The twins' builds
        (``TorchSteps._build``, ``TFSteps._build``) call it once the network exists."""
        shapes = {key: value.shape for key, value in self.get_weights().items()}  # type: ignore[attr-defined]
        self.set_weights(initial_weights(shapes, self._initializers(), self.seed))  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- the parity tests' primitive
    def optimizer_step(self, batch: Any) -> float:
        """One step of the model's own optimizer on one batch (penalty included, as in ``fit``);
        returns the loss before the step. For the parity tests, in both frameworks."""
        self._check_fitted()  # type: ignore[attr-defined]
        return _loss_and_weight(self._train_batch(batch))[0]  # type: ignore[attr-defined]


def _loss_and_weight(result: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(result, tuple):
        return float(result[0]), float(result[1])
    return float(result), 1.0
