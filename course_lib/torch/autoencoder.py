"""Autoencoders of user profiles in PyTorch: a denoising autoencoder, Mult-DAE and Mult-VAE.

Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018. Twin:
course_lib/tf/autoencoder.py. The framework-free half (user-row batches, their corruption, the
VAE's noise and KL annealing, validation, fold-in scoring) is in course_lib/autoencoder_base.py: the
corruption mask and epsilon arrive in the batch, so both twins see the same randomness.

Shapes: B users in a batch, I n_items, H hidden_dim, Z latent_dim.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.autoencoder_base import AutoencoderBase, DenoisingMixin
from course_lib.torch.training import TorchSteps, default_init, make_generator

__all__ = ["AutoencoderNet", "multinomial_log_likelihood", "reparameterize", "kl_divergence",
           "DenoisingAutoencoder", "MultDAE", "MultVAE"]


def multinomial_log_likelihood(logits: torch.Tensor, profiles: torch.Tensor) -> torch.Tensor:
    """Mean over users of sum_i x_ui log softmax(logits_u)_i: (B, I), (B, I) -> ()."""
    return (F.log_softmax(logits, dim=-1) * profiles).sum(-1).mean()


def reparameterize(mean: torch.Tensor, log_variance: torch.Tensor, epsilon: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * epsilon with sigma = exp(log_variance / 2): differentiable in mu and sigma."""
    return mean + torch.exp(0.5 * log_variance) * epsilon                    # (B, Z)


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)), summed over Z and averaged over users: (B, Z) -> ()."""
    return (0.5 * (-log_variance + log_variance.exp() + mean.square() - 1)).sum(-1).mean()


class AutoencoderNet(nn.Module):
    """I -> H -> Z (or 2Z: mean and log-variance) -> H -> I, tanh between layers, logits out."""

    def __init__(self, n_items: int, hidden_dim: int, latent_dim: int, variational: bool = False,
                 normalize_input: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.encoder = nn.ModuleList([nn.Linear(n_items, hidden_dim),
                                      nn.Linear(hidden_dim, 2 * latent_dim if variational else latent_dim)])
        self.decoder = nn.ModuleList([nn.Linear(latent_dim, hidden_dim), nn.Linear(hidden_dim, n_items)])
        # PyTorch's nn.Linear default, weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as the
        # TensorFlow twin; drawn from the network's own generator (torch's global one is left alone).
        # Measured on ML-100K (Mult-DAE, notebook 02's recipe, seeds 42, 1, 2): NDCG@10 0.386, 0.384,
        # 0.382 against 0.374, 0.371, 0.387 with Glorot weights and zero biases.
        default_init(self, make_generator(seed))
        self.variational, self.normalize_input = variational, normalize_input

    def forward(self, inputs: torch.Tensor, epsilon: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Logits (B, I), the code or the posterior mean (B, Z), and the log-variance (B, Z) or None.
        A VAE samples z with ``epsilon`` (B, Z) when given, else decodes its mean."""
        x = F.normalize(inputs, dim=-1) if self.normalize_input else inputs     # (B, I)
        code = self.encoder[1](torch.tanh(self.encoder[0](x)))                  # (B, Z) or (B, 2Z)
        if self.variational:
            mean, log_variance = code.chunk(2, dim=-1)                           # (B, Z), (B, Z)
            z = reparameterize(mean, log_variance, epsilon) if epsilon is not None else mean
        else:
            mean, log_variance, z = code, None, torch.tanh(code)
        return self.decoder[1](torch.tanh(self.decoder[0](z))), mean, log_variance  # (B, I), (B, Z), (B, Z)


class _TorchAutoencoder(AutoencoderBase, TorchSteps):
    def _network(self, train: Any) -> nn.Module:
        return AutoencoderNet(self.n_items_, self.hidden_dim, self.latent_dim, self._variational,
                              True, self.seed)

    def _forward_numpy(self, profiles: np.ndarray) -> np.ndarray:
        self.network_.eval()
        with torch.no_grad():
            return self.network_(self._tensor(profiles, torch.float32))[0].cpu().numpy()

    def _batch_loss(self, batch: dict[str, np.ndarray], training: bool) -> torch.Tensor:
        profiles = self._tensor(batch["profiles"], torch.float32)                               # (B, I)
        epsilon = self._tensor(batch["epsilon"], torch.float32) if "epsilon" in batch else None
        logits, mean, log_variance = self.network_(self._tensor(batch["inputs"], torch.float32), epsilon)
        if self._likelihood == "logistic":
            loss = F.binary_cross_entropy_with_logits(logits, profiles, reduction="none").sum(-1).mean()
        else:
            loss = -multinomial_log_likelihood(logits, profiles)
        if self._variational:
            loss = loss + float(batch["beta"]) * kl_divergence(mean, log_variance)
        return loss


class DenoisingAutoencoder(DenoisingMixin, _TorchAutoencoder):
    """A denoising autoencoder of binary profiles with a logistic (per-item Bernoulli) likelihood.

    ``dropout`` drops observed items from the input; ``switch_on`` also turns unobserved items
    on with that probability (keep it near 0: at 0.9 the input is mostly noise).
    """

    _likelihood = "logistic"

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, dropout: float = 0.5,
                 switch_on: float = 0.0, **arguments: Any) -> None:
        super().__init__(hidden_dim, latent_dim, dropout, **arguments)
        self.switch_on = switch_on


class MultDAE(_TorchAutoencoder):
    """Mult-DAE (Liang et al. 2018): dropout-corrupted, L2-normalized profiles, multinomial likelihood."""


class MultVAE(_TorchAutoencoder):
    """Mult-VAE (Liang et al. 2018): a Gaussian latent code, multinomial likelihood and the KL term
    weighted by beta, annealed linearly from 0 to ``anneal_cap`` over ``anneal_steps`` updates."""

    _variational = True

    def __init__(self, hidden_dim: int = 600, latent_dim: int = 200, dropout: float = 0.5,
                 anneal_cap: float = 0.2, anneal_steps: int = 200, **arguments: Any) -> None:
        super().__init__(hidden_dim, latent_dim, dropout, **arguments)
        self.anneal_cap, self.anneal_steps = anneal_cap, anneal_steps
