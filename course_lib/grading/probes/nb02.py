"""Notebook 02's graded exercises, sandbox side: dropout corruption, the multinomial loss, the VAE's
reparameterization and KL term.

The inputs are the grader's: seeded synthetic profiles instead of the notebook's ``profiles``, and the
seeded tensors of the former hidden tests (``course_lib.grading.frozen``). Randomness the student's
``corrupt`` draws from torch's global generator is seeded here, the caller's generators kept.
"""

from __future__ import annotations

import numpy as np

import course_lib
from course_lib import checks
from course_lib.grading.probes import Probe, number, to_numpy
from course_lib.grading.probes._rng import kept_global_states, seed_other_globals, torch_seeded

# --------------------------------------------------------------------------- corrupt and multinomial_nll

HALF, SPARSE_P = 0.5, 0.3
CORRUPT_SEED, SPARSE_SEED = 13, 0


def profile_rows():
    """32 users' profiles (0/1, float32) of a seeded synthetic data set, as ``profiles[:32]`` in the notebook."""
    import torch

    data = course_lib.make_synthetic(n_users=40, n_items=150, mean_per_user=20, min_per_user=5, seed=23)
    return torch.tensor(data.to_csr().toarray()[:32])


def sparse_profiles():
    """(200, 300) float 0/1 profiles, about 10% ones (a seeded generator of their own)."""
    import torch

    generator = torch.Generator().manual_seed(12345)
    return (torch.rand(200, 300, generator=generator) < 0.1).float()


def loss_inputs():
    """The former hidden test's counts (6, 9) and logits (6, 9)."""
    import torch

    generator = torch.Generator().manual_seed(21)
    counts = torch.randint(0, 3, (6, 9), generator=generator).float()
    logits = torch.randn(6, 9, generator=generator)
    return counts, logits


def loss_gradient(loss, logits, counts) -> tuple[float, np.ndarray, str]:
    """``loss(logits, counts)`` with logits that track their gradient: the value, d loss / d logits (NaN
    where no gradient reaches them) and the error of the backward pass ('' when none)."""
    leaf = logits.detach().clone().requires_grad_()
    value = loss(leaf, counts.clone())
    try:
        value.backward()
    except (RuntimeError, AttributeError, TypeError) as error:
        return number(value), np.full(tuple(logits.shape), np.nan), f"{type(error).__name__}: {error}"[:300]
    gradient = np.full(tuple(logits.shape), np.nan) if leaf.grad is None else to_numpy(leaf.grad).astype(np.float64)
    return number(value), gradient, ""


def _corruption_and_loss(namespace, inputs):
    import torch

    corrupt, multinomial_nll = namespace["corrupt"], namespace["multinomial_nll"]
    rows = profile_rows()
    given = rows.clone()
    outputs = {}
    with torch_seeded(CORRUPT_SEED):
        outputs["rows"] = to_numpy(corrupt(given, HALF))
    outputs["rows_after"] = to_numpy(given)
    sparse = sparse_profiles()
    with torch_seeded(SPARSE_SEED):
        seed_other_globals(1)
        outputs["sparse"] = to_numpy(corrupt(sparse.clone(), SPARSE_P))
        outputs["sparse_next"] = to_numpy(corrupt(sparse.clone(), SPARSE_P))        # a fresh mask every call
    with torch_seeded(SPARSE_SEED):
        seed_other_globals(2)                   # the mask comes from torch's generator, not NumPy's or Python's
        outputs["sparse_again"] = to_numpy(corrupt(sparse.clone(), SPARSE_P))       # the same seed, the same mask
    with torch_seeded(CORRUPT_SEED + 1):
        outputs["ones"] = to_numpy(corrupt(torch.ones(400, 500), HALF)).astype(np.float32)
        outputs["ones_p0"] = to_numpy(corrupt(torch.ones(3, 500), 0.0))
    counts, logits = loss_inputs()
    with kept_global_states():
        outputs["nll"] = number(multinomial_nll(logits.clone(), counts.clone()))
        outputs["nll_large"] = number(multinomial_nll(logits * 50 + 1000, counts.clone()))
        _, outputs["nll_gradient"], outputs["nll_backward"] = loss_gradient(multinomial_nll, logits, counts)
    return outputs


# --------------------------------------------------------------------------- reparameterize and kl_divergence

def vae_inputs():
    """The former hidden test's tensors, drawn in its order from one seeded generator: the KL's mean and
    log-variance (7, 5), then epsilon, mean and log-variance (64, 16) of the reparameterization."""
    import torch

    generator = torch.Generator().manual_seed(22)
    kl_mean = torch.randn(7, 5, generator=generator)
    kl_log_variance = torch.randn(7, 5, generator=generator)
    epsilon = torch.randn(64, 16, generator=generator)
    mean = torch.randn(64, 16, generator=generator)
    log_variance = torch.randn(64, 16, generator=generator)
    return kl_mean, kl_log_variance, epsilon, mean, log_variance


def kl_gradients(kl_divergence, mean, log_variance) -> tuple[np.ndarray, np.ndarray, str]:
    """d KL / d mean and d KL / d log_variance (NaN where none arrives), and the backward pass's error."""
    mean, log_variance = mean.detach().clone().requires_grad_(), log_variance.detach().clone().requires_grad_()
    empty = np.full(tuple(mean.shape), np.nan)
    try:
        kl_divergence(mean, log_variance).backward()
    except (RuntimeError, AttributeError, TypeError) as error:
        return empty, empty, f"{type(error).__name__}: {error}"[:300]
    return tuple(empty if t.grad is None else to_numpy(t.grad).astype(np.float64) for t in (mean, log_variance)) + ("",)


def _vae_terms(namespace, inputs):
    import torch

    reparameterize, kl_divergence = namespace["reparameterize"], namespace["kl_divergence"]
    kl_mean, kl_log_variance, epsilon, mean, log_variance = vae_inputs()
    outputs = {}
    with kept_global_states():
        outputs["kl"] = number(kl_divergence(kl_mean.clone(), kl_log_variance.clone()))
        outputs["kl_prior"] = number(kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)))
        outputs["kl_small_prior"] = number(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)))
        outputs["kl_small_shifted"] = number(kl_divergence(torch.ones(2, 3), torch.zeros(2, 3)))
        outputs["kl_mean_gradient"], outputs["kl_log_variance_gradient"], outputs["kl_backward"] = kl_gradients(
            kl_divergence, kl_mean, kl_log_variance)
    mean, log_variance = mean.clone().requires_grad_(), log_variance.clone().requires_grad_()
    with torch_seeded(0):
        seed_other_globals(0)
        z = reparameterize(mean, log_variance, epsilon.clone())
    with torch_seeded(1):
        seed_other_globals(1)                   # other seeds everywhere: z depends on its arguments alone
        outputs["z_again"] = to_numpy(reparameterize(mean, log_variance, epsilon.clone())).astype(np.float64)
    outputs["z"] = to_numpy(z).astype(np.float64)
    outputs["z_backward"] = ""
    try:
        z.sum().backward()
    except (RuntimeError, AttributeError, TypeError) as error:
        outputs["z_backward"] = f"{type(error).__name__}: {error}"[:300]
    for key, tensor in (("z_mean_gradient", mean), ("z_log_variance_gradient", log_variance)):
        outputs[key] = np.full((64, 16), np.nan) if tensor.grad is None else to_numpy(tensor.grad).astype(np.float64)
    return outputs


def _visible_corruption(namespace, inputs):
    checks.check_corruption(namespace["corrupt"])
    checks.check_multinomial_loss(namespace["multinomial_nll"])


def _visible_vae(namespace, inputs):
    checks.check_reparameterization(namespace["reparameterize"])
    checks.check_kl_divergence(namespace["kl_divergence"])


PROBES = {
    "nb02_corruption_and_loss_tests": Probe(("corrupt", "multinomial_nll"), _corruption_and_loss,
                                            visible=_visible_corruption, seconds=20),
    "nb02_vae_terms_tests": Probe(("reparameterize", "kl_divergence"), _vae_terms, visible=_visible_vae,
                                  seconds=20),
}
