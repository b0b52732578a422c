"""Checks for the exercises of notebook 02 (autoencoders): corruption, multinomial loss, the VAE's
reparameterization and KL term. The checks take PyTorch functions and import torch inside."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks._common import _call, _check_rng_use, _expect_number, _expect_tensor, _fail

__all__ = ["check_corruption", "check_multinomial_loss", "check_reparameterization", "check_kl_divergence"]


def _scalar_loss(name: str, function: Callable, *args: object, inputs: str, nan_hint: str = "") -> float:
    """A 0-d float tensor that carries the gradient of its inputs, as a float."""
    import torch

    tracked = [a.detach().clone().requires_grad_() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
               for a in args]
    value = _call(name, function, *tracked, inputs=inputs)
    if nan_hint and isinstance(value, torch.Tensor) and not bool(torch.isfinite(value.detach()).all()):
        _fail(name, f"it returned {value.detach().flatten()[:1].item()} for {inputs}. {nan_hint}")
    _expect_tensor(name, value, None, inputs, scalar=True)
    if not value.requires_grad:
        _fail(name, "the result carries no gradient: compute it with torch operations on the inputs (no .item(), "
                    "NumPy or .detach() on the way), or the model cannot learn from it.")
    return _expect_number(name, value.detach(), inputs)


# ------------------------------------------------------------------ corruption
def check_corruption(corrupt: Callable) -> None:
    """Check ``corrupt(profiles, drop_probability) -> corrupted profiles`` (torch tensors, float 0/1 input)."""
    import torch

    name = "corrupt"
    generator = torch.Generator().manual_seed(12345)  # not the global seed below: the same stream would line up
    profiles = (torch.rand(200, 300, generator=generator) < 0.1).float()
    original = profiles.clone()
    inputs = "a (200, 300) float tensor of 0s and 1s, drop_probability=0.3"
    torch.manual_seed(0)
    got = _call(name, corrupt, profiles, 0.3, inputs=inputs)
    if not torch.equal(profiles, original):
        _fail(name, "it changed its input in place: the clean profile is also the training target, so it would "
                    "be corrupted too. Build a new tensor (profiles * mask) instead of assigning into profiles.")
    got = _expect_tensor(name, got, tuple(profiles.shape), inputs, label="the corrupted batch")
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
    if torch.allclose(kept, torch.full_like(kept, 0.7), atol=1e-5):
        _fail(name, "the kept items are multiplied by 1 - drop_probability; divide by it, so that the expected "
                    "input stays the same.")
    if not torch.allclose(kept, torch.full_like(kept, 1 / 0.7), atol=1e-5):
        _fail(name, "the kept items should be 1 / (1 - drop_probability) = 1 / 0.7.")
    torch.manual_seed(0)
    other = _call(name, corrupt, profiles, 0.3, inputs=inputs)
    if not torch.equal(torch.as_tensor(other), got):
        _fail(name, "after the same torch.manual_seed, two calls gave different masks: draw the mask with torch's "
                    "random functions (torch.rand_like, torch.bernoulli), which that seed controls, so that "
                    "training can be repeated.")
    after_first = _call(name, corrupt, profiles, 0.3, inputs=inputs)
    if torch.equal(torch.as_tensor(after_first), got):
        _fail(name, "two calls in a row gave the same corruption: draw a fresh random mask on every call.")

    def run(seed: int) -> object:
        torch.manual_seed(seed)
        return torch.as_tensor(_call(name, corrupt, profiles[:20], 0.3, inputs=inputs.replace("200", "20")))

    _check_rng_use(name, run, torch.equal, source="torch's generator (torch.manual_seed)",
                   globals_named="np.random, random", torch_is_source=True)
    ones = torch.ones(4, 5)
    for probability, value in ((0.0, 1.0), (0.5, None)):
        result = _expect_tensor(name, _call(name, corrupt, ones, probability, inputs=f"ones(4, 5), {probability}"),
                                (4, 5), f"ones(4, 5) and drop_probability={probability}")
        if value is not None and not torch.allclose(result, ones):
            _fail(name, "with drop_probability=0 nothing is dropped and nothing rescaled: the output should equal "
                        "the input.")
    print(f"{name}: drops about 30% of observed items, scales the rest, never switches items on, seeded by torch.")


# ------------------------------------------------------------------ multinomial loss
def check_multinomial_loss(multinomial_nll: Callable) -> None:
    """Check ``multinomial_nll(logits, profiles) -> scalar``: -mean over users of sum_i x_ui log softmax_i."""
    import torch

    name = "multinomial_nll"
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 9, generator=generator) * 2
    profiles = (torch.rand(6, 9, generator=generator) < 0.4).float()
    profiles[:, 0] = 1
    got = _scalar_loss(name, multinomial_nll, logits, profiles, inputs="logits (6, 9) and profiles (6, 9)")
    log_softmax = torch.log_softmax(logits, dim=-1)
    expected = -(log_softmax * profiles).sum(-1).mean().item()
    if np.isclose(got, expected, rtol=1e-5):
        stable = ("Adding the same constant to every logit of a user should not change the loss; with large logits "
                  "exp overflows. Use F.log_softmax, which is stable.")
        shifted = _scalar_loss(name, multinomial_nll, logits + 100.0, profiles, inputs="logits + 100 and profiles",
                               nan_hint=stable)
        if not np.isclose(shifted, expected, rtol=1e-4):
            _fail(name, "adding the same constant to every logit of a user changes your loss (or overflows); a "
                        "softmax does not change. Use F.log_softmax, which is stable for large logits.")
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
    if got < 0:
        _fail(name, f"you returned {got:.4f}, a negative loss: that is the log-likelihood; the loss to minimize is "
                    "its negative.")
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
    inputs = "mean, log_variance and epsilon of shape (4, 3)"
    torch.manual_seed(0)
    got = _call(name, reparameterize, mean, log_variance, epsilon, inputs=inputs)
    got = _expect_tensor(name, got, tuple(mean.shape), inputs, label="z")
    torch.manual_seed(1)
    again = _call(name, reparameterize, mean, log_variance, epsilon, inputs=inputs)
    if not torch.equal(torch.as_tensor(again).detach(), got.detach()):
        _fail(name, "two calls with the same epsilon gave different z: use the epsilon you are given, do not draw "
                    "new noise inside (the training loop draws it, so that a test can fix it).")
    with torch.no_grad():
        expected = mean + torch.exp(0.5 * log_variance) * epsilon
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
    if mean.grad is None or log_variance.grad is None or not bool((log_variance.grad != 0).any()):
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
    inputs = "mean and log_variance of shape (5, 4)"
    nan_hint = ("log_variance is the logarithm of the variance and may be negative or 0: sigma^2 = "
                "exp(log_variance), and log sigma^2 is log_variance itself (no log to take).")
    got = _scalar_loss(name, kl_divergence, mean, log_variance, inputs=inputs, nan_hint=nan_hint)
    terms = 0.5 * (-log_variance + log_variance.exp() + mean.square() - 1)                  # (B, Z)
    expected = terms.sum(-1).mean().item()
    zero = _scalar_loss(name, kl_divergence, torch.zeros(2, 3), torch.zeros(2, 3),
                        inputs="mean = log_variance = zeros(2, 3), the prior itself", nan_hint=nan_hint)
    if abs(zero) > 1e-6:
        if np.isclose(zero, 1.5) or np.isclose(zero, 3.0) or np.isclose(zero, 0.75):
            _fail(name, f"the KL of N(0, 1) from itself should be 0, you returned {zero:.4f}: the constant -1 of "
                        "0.5 * (sigma^2 + mu^2 - 1 - log sigma^2) is missing.")
        _fail(name, f"the KL of N(0, 1) from itself should be 0, you returned {zero:.4f}.")
    if got < 0:
        _fail(name, f"you returned {got:.4f}, but a KL divergence is never negative: check the sign of each term.")
    if np.isclose(got, expected, rtol=1e-5):
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
    positive = log_variance.abs() + 1e-12
    as_variances = [(0.5 * (-torch.log(positive) + log_variance + mean.square() - 1)).sum(-1).mean().item(),
                    (0.5 * (log_variance + mean.square() - 1 - torch.log(positive))).sum(-1).mean().item(),
                    (0.5 * (log_variance.square() + mean.square() - 1 - torch.log(log_variance.square() + 1e-12))
                     ).sum(-1).mean().item()]
    if any(np.isfinite(v) and np.isclose(got, v, rtol=1e-4) for v in as_variances):
        _fail(name, "you treated log_variance as the variance itself: sigma^2 = exp(log_variance).")
    _fail(name, f"for a small batch the KL term is {expected:.4f}, you returned {got:.4f}. Per latent dimension: "
                "0.5 * (sigma^2 + mu^2 - 1 - log sigma^2).")
