"""Checks for the exercises of notebook 02 (autoencoders): corruption, multinomial loss, the VAE's
reparameterization and KL term. The checks take PyTorch functions and import torch inside."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks._common import _call, _fail

__all__ = ["check_corruption", "check_multinomial_loss", "check_reparameterization", "check_kl_divergence"]


def _as_number(name: str, value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        _fail(name, f"it should return one number (a 0-d tensor), got {value!r}.")
    return float("nan")


# ------------------------------------------------------------------ corruption
def check_corruption(corrupt: Callable) -> None:
    """Check ``corrupt(profiles, drop_probability) -> corrupted profiles`` (torch tensors, float 0/1 input)."""
    import torch

    name = "corrupt"
    generator = torch.Generator().manual_seed(12345)  # not the global seed below: the same stream would line up
    profiles = (torch.rand(200, 300, generator=generator) < 0.1).float()
    original = profiles.clone()
    torch.manual_seed(0)
    got = _call(name, corrupt, profiles, 0.3)
    if not torch.equal(profiles, original):
        _fail(name, "it changed its input in place: the clean profile is also the training target, so it would "
                    "be corrupted too. Build a new tensor (profiles * mask) instead of assigning into profiles.")
    got = torch.as_tensor(got)
    if got.shape != profiles.shape:
        _fail(name, f"it returned shape {tuple(got.shape)}; expected the shape of the input, {tuple(profiles.shape)}.")
    observed = profiles > 0
    switched_on = (got[~observed] != 0).float().mean().item()
    if switched_on > 0:
        _fail(name, f"it switched on {switched_on:.0%} of the unobserved items. Dropout corruption only removes "
                    "observed items; turning unobserved ones on drowns the profile in noise.")
    dropped = (got[observed] == 0).float().mean().item()
    if abs(dropped - 0.7) < 0.05:
        _fail(name, f"it dropped {dropped:.0%} of the observed items with drop_probability=0.3: you kept items with "
                    "probability 0.3 instead of dropping them with it.")
    if abs(dropped - 0.3) > 0.05:
        _fail(name, f"it dropped {dropped:.0%} of the observed items; with drop_probability=0.3 it should drop about 30%.")
    kept = got[observed & (got != 0)]
    if torch.allclose(kept, torch.ones_like(kept)):
        _fail(name, "the kept items are still 1: scale them by 1 / (1 - drop_probability), as nn.Dropout does, so "
                    "that the expected input stays the same.")
    if not torch.allclose(kept, torch.full_like(kept, 1 / 0.7), atol=1e-5):
        _fail(name, "the kept items should be 1 / (1 - drop_probability) = 1 / 0.7.")
    torch.manual_seed(1)
    other = torch.as_tensor(_call(name, corrupt, profiles, 0.3))
    if torch.equal(other, got):
        _fail(name, "two calls gave the same corruption: draw a fresh random mask on every call.")
    print(f"{name}: drops about 30% of observed items, scales the rest, never switches items on.")


# ------------------------------------------------------------------ multinomial loss
def check_multinomial_loss(multinomial_nll: Callable) -> None:
    """Check ``multinomial_nll(logits, profiles) -> scalar``: -mean over users of sum_i x_ui log softmax_i."""
    import torch

    name = "multinomial_nll"
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 9, generator=generator) * 2
    profiles = (torch.rand(6, 9, generator=generator) < 0.4).float()
    profiles[:, 0] = 1
    got = _as_number(name, _call(name, multinomial_nll, logits, profiles))
    log_softmax = torch.log_softmax(logits, dim=-1)
    expected = -(log_softmax * profiles).sum(-1).mean().item()
    if np.isclose(got, expected, rtol=1e-5):
        print(f"{name}: matches -mean_u sum_i x_ui log softmax(logits_u)_i.")
        return
    if np.isclose(got, -expected, rtol=1e-5):
        _fail(name, f"you returned {got:.4f}, the log-likelihood; the loss to minimize is its negative.")
    if np.isclose(got, -(torch.log_softmax(logits, dim=0) * profiles).sum(-1).mean().item(), rtol=1e-5):
        _fail(name, "the softmax runs over the users (dim=0); it should run over the items of each user (dim=-1).")
    if np.isclose(got, -(torch.softmax(logits, -1) * profiles).sum(-1).mean().item(), rtol=1e-5):
        _fail(name, "you multiplied by the softmax probabilities; the likelihood uses their logarithm (log_softmax).")
    if np.isclose(got, -(log_softmax * profiles).mean().item(), rtol=1e-5):
        _fail(name, "you averaged over the items too; sum over the items of each user, then average over users.")
    if np.isclose(got, -(log_softmax * profiles).sum().item(), rtol=1e-5):
        _fail(name, "you summed over the users; average over them, so the loss does not grow with the batch size.")
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, profiles, reduction="none")
    if np.isclose(got, bce.sum(-1).mean().item(), rtol=1e-5) or np.isclose(got, bce.mean().item(), rtol=1e-5):
        _fail(name, "that is the logistic (binary cross-entropy) loss; the multinomial one uses log_softmax over items.")
    _fail(name, f"for a small batch the loss is {expected:.4f}, you returned {got:.4f}.")


# ------------------------------------------------------------------ reparameterization
def check_reparameterization(reparameterize: Callable) -> None:
    """Check ``reparameterize(mean, log_variance, epsilon) -> z = mean + exp(log_variance / 2) * epsilon``."""
    import torch

    name = "reparameterize"
    generator = torch.Generator().manual_seed(5)
    mean = torch.randn(4, 3, generator=generator).requires_grad_()
    log_variance = torch.randn(4, 3, generator=generator).requires_grad_()
    epsilon = torch.randn(4, 3, generator=generator)
    got = torch.as_tensor(_call(name, reparameterize, mean, log_variance, epsilon))
    with torch.no_grad():
        expected = mean + torch.exp(0.5 * log_variance) * epsilon
        if got.shape != expected.shape:
            _fail(name, f"it returned shape {tuple(got.shape)}; z has the shape of the mean, {tuple(mean.shape)}.")
        if torch.allclose(got, mean + torch.exp(log_variance) * epsilon, atol=1e-5):
            _fail(name, "you scaled epsilon by the variance exp(log_variance); scale it by the standard deviation "
                        "exp(log_variance / 2).")
        if torch.allclose(got, mean + log_variance * epsilon, atol=1e-5):
            _fail(name, "log_variance is the logarithm of the variance: the standard deviation is exp(log_variance / 2).")
        if torch.allclose(got, mean, atol=1e-5):
            _fail(name, "z equals the mean: add the noise, the standard deviation times epsilon.")
        if not torch.allclose(got, expected, atol=1e-5):
            _fail(name, "z should be mean + exp(log_variance / 2) * epsilon, with the epsilon you are given.")
    if not got.requires_grad:
        _fail(name, "z carries no gradient: compute it from mean and log_variance with tensor operations (no "
                    ".detach(), no NumPy), so that the encoder learns through the sample.")
    got.sum().backward()
    if mean.grad is None or log_variance.grad is None:
        _fail(name, "the gradient does not reach both mean and log_variance.")
    print(f"{name}: z = mu + sigma * epsilon, differentiable in mu and log sigma^2.")


# ------------------------------------------------------------------ KL term
def check_kl_divergence(kl_divergence: Callable) -> None:
    """Check ``kl_divergence(mean, log_variance) -> scalar``: KL(N(mu, sigma^2) || N(0, 1)) summed over the
    latent dimensions, averaged over users."""
    import torch

    name = "kl_divergence"
    generator = torch.Generator().manual_seed(9)
    mean = torch.randn(5, 4, generator=generator)
    log_variance = torch.randn(5, 4, generator=generator) * 0.5
    got = _as_number(name, _call(name, kl_divergence, mean, log_variance))
    terms = 0.5 * (-log_variance + log_variance.exp() + mean.square() - 1)                  # (B, Z)
    expected = terms.sum(-1).mean().item()
    if np.isclose(got, expected, rtol=1e-5):
        zero = _as_number(name, _call(name, kl_divergence, torch.zeros(2, 3), torch.zeros(2, 3)))
        if abs(zero) > 1e-6:
            _fail(name, f"the KL of N(0, 1) from itself should be 0, you returned {zero:.4f}.")
        print(f"{name}: matches 0.5 * sum(sigma^2 + mu^2 - 1 - log sigma^2), averaged over users.")
        return
    if np.isclose(got, -expected, rtol=1e-5):
        _fail(name, "the sign is flipped: a KL divergence is never negative.")
    if np.isclose(got, 2 * expected, rtol=1e-5):
        _fail(name, "the factor 1/2 is missing.")
    if np.isclose(got, terms.mean().item(), rtol=1e-5):
        _fail(name, "you averaged over the latent dimensions; sum over them, then average over users.")
    if np.isclose(got, terms.sum().item(), rtol=1e-5):
        _fail(name, "you summed over the users; average over them.")
    as_variance = (0.5 * (-torch.log(log_variance.abs() + 1e-12) + log_variance + mean.square() - 1)).sum(-1).mean().item()
    if np.isclose(got, as_variance, rtol=1e-4):
        _fail(name, "you treated log_variance as the variance itself: sigma^2 = exp(log_variance).")
    _fail(name, f"for a small batch the KL term is {expected:.4f}, you returned {got:.4f}. Per latent dimension: "
                "0.5 * (sigma^2 + mu^2 - 1 - log sigma^2).")
