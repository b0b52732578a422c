"""NeuMF initialized from pre-trained GMF and MLP models (He et al., "Neural Collaborative
Filtering", WWW 2017, section 3.4.1), framework-free: both twins in ``course_lib/{torch,tf}/mlp.py``
use it.

NeuMF's logit is ``w^T [h_G ; h_M] + b`` with ``h_G = p^G_u * q^G_i`` (the GMF branch) and
``h_M`` the last layer of the MLP tower. Copying the GMF and MLP embeddings and layers in and setting
``w = [alpha * w_GMF ; (1 - alpha) * w_MLP]``, ``b = alpha * b_GMF + (1 - alpha) * b_MLP`` gives,
before any fine-tuning, exactly ``alpha * logit_GMF + (1 - alpha) * logit_MLP``.

Weights are exchanged as ``get_weights()`` dicts (the PyTorch ``state_dict`` names, NumPy arrays),
so the pre-trained models may come from either framework.

Shapes: D embedding_dim, H last hidden width.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.ncf_base import HybridFeaturesMixin, check_dims
from course_lib.validation import check_number

__all__ = ["PretrainedNeuMFMixin", "pretrained_neumf_weights"]


def _is_a(model: Any, class_name: str) -> bool:
    return any(klass.__name__ == class_name for klass in type(model).__mro__)


def _check_pretrained(gmf: Any, mlp: Any, alpha: Any) -> None:
    for name, model, class_name in (("gmf", gmf, "GMF"), ("mlp", mlp, "MLP")):
        if not _is_a(model, class_name):
            raise ValueError(f"`{name}` must be a fitted {class_name} (PyTorch or TensorFlow), "
                             f"got {type(model).__name__}.")
        if not hasattr(model, "network_"):
            raise ValueError(f"`{name}` is not fitted yet: call {name}.fit(train) first.")
    if (gmf.n_users_, gmf.n_items_) != (mlp.n_users_, mlp.n_items_):
        raise ValueError(f"`gmf` was fitted on {gmf.n_users_} users x {gmf.n_items_} items but `mlp` on "
                         f"{mlp.n_users_} x {mlp.n_items_}: pre-train both on the same data.")
    if gmf.embedding_dim != mlp.embedding_dim:
        raise ValueError(f"`embedding_dim` differs: gmf.embedding_dim={gmf.embedding_dim}, "
                         f"mlp.embedding_dim={mlp.embedding_dim}; NeuMF's two branches share one size.")
    check_number("alpha", alpha, 0.0, 1.0)


def pretrained_neumf_weights(gmf_weights: dict[str, np.ndarray], mlp_weights: dict[str, np.ndarray],
                             alpha: float = 0.5) -> dict[str, np.ndarray]:
    """NeuMF's weights (``get_weights()`` names) from a GMF's and an MLP's ``get_weights()``.

    The embeddings and tower layers are copied; the output layer is
    ``[alpha * w_GMF, (1 - alpha) * w_MLP]`` (1, D + H) with bias ``alpha * b_GMF + (1 - alpha) * b_MLP``.
    """
    weights = {"gmf_user.weight": gmf_weights["user_embedding.weight"],
               "gmf_item.weight": gmf_weights["item_embedding.weight"],
               "mlp_user.weight": mlp_weights["user_embedding.weight"],
               "mlp_item.weight": mlp_weights["item_embedding.weight"]}
    weights.update({name: value for name, value in mlp_weights.items() if name.startswith("layers.")})
    weights["output.weight"] = np.concatenate([alpha * gmf_weights["output.weight"],                 # (1, D)
                                               (1 - alpha) * mlp_weights["output.weight"]], axis=1)  # (1, D + H)
    weights["output.bias"] = alpha * gmf_weights["output.bias"] + (1 - alpha) * mlp_weights["output.bias"]
    return {name: np.asarray(value, dtype=np.float32) for name, value in weights.items()}


class PretrainedNeuMFMixin:
    """``NeuMF.from_pretrained(gmf, mlp, alpha)``: a NeuMF whose ``fit`` starts from the two models.

    Mixed into NeuMF before the recommender base, so its ``_build`` runs after the network is built
    and before the first epoch; the optimizer starts from zero state on the copied weights.
    """

    pretrained: tuple[Any, Any] | None = None  # set by from_pretrained; plain NeuMF() starts at random
    alpha: float = 0.5

    @classmethod
    def from_pretrained(cls, gmf: Any, mlp: Any, alpha: float = 0.5, **arguments: Any) -> Any:
        """A NeuMF that ``fit`` initializes from a fitted ``gmf`` and ``mlp``, then fine-tunes.

        He et al. (2017, section 3.4.1) pre-train GMF and MLP, copy their embeddings and the MLP's
        layers into NeuMF, weight the two output layers by ``alpha`` and ``1 - alpha`` (0.5 in the
        paper) and fine-tune with plain SGD; Adam at a smaller learning rate than the pre-training
        works too. Before fine-tuning (``epochs=0``) the scores are exactly
        ``alpha * gmf.score(u) + (1 - alpha) * mlp.score(u)``.

        Parameters
        ----------
        gmf, mlp : fitted ``GMF`` and ``MLP`` of either framework, on the same users and items,
            with the same ``embedding_dim``.
        alpha : float in [0, 1], the weight of the GMF branch in the output layer.
        **arguments : NeuMF's other arguments (``epochs``, ``learning_rate``, ...).
            ``embedding_dim`` and ``hidden_dims`` default to the pre-trained models' and must match them.
        """
        if issubclass(cls, HybridFeaturesMixin):
            raise TypeError(f"{cls.__name__}.from_pretrained is not supported: its feature branch has no "
                            "pre-trained counterpart. Use NeuMF.from_pretrained.")
        _check_pretrained(gmf, mlp, alpha)
        for name, own in (("embedding_dim", gmf.embedding_dim), ("hidden_dims", mlp.hidden_dims_)):
            given = arguments.setdefault(name, own)
            if (check_dims(name, given) if name == "hidden_dims" else given) != own:
                raise ValueError(f"`{name}={given!r}` does not match the pre-trained models' {name}={own!r}: "
                                 f"leave it out or pre-train with the same {name}.")
        model = cls(**arguments)
        model.pretrained, model.alpha = (gmf, mlp), float(alpha)
        return model

    def _build(self, train: Any) -> None:
        super()._build(train)  # type: ignore[misc]
        if self.pretrained is None:
            return
        gmf, mlp = self.pretrained
        _check_pretrained(gmf, mlp, self.alpha)
        if (gmf.n_users_, gmf.n_items_) != (self.n_users_, self.n_items_):  # type: ignore[attr-defined]
            raise ValueError(f"`gmf` and `mlp` were fitted on {gmf.n_users_} users x {gmf.n_items_} items but "
                             f"`train` has {self.n_users_} x {self.n_items_}: fine-tune on the same users and "  # type: ignore[attr-defined]
                             "items (the same split).")
        self.set_weights(pretrained_neumf_weights(gmf.get_weights(), mlp.get_weights(), self.alpha))  # type: ignore[attr-defined]
