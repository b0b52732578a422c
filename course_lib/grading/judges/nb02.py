"""Notebook 02's hidden tests, judged in the grader: corruption, the multinomial loss, the VAE's terms."""

from __future__ import annotations

import numpy as np

from course_lib.grading.judges import Failed, Judge, expect, expect_close, expect_shape
from course_lib.grading.probes.nb02 import (
    HALF,
    SPARSE_P,
    SPARSE_SEED,
    loss_gradient,
    loss_inputs,
    profile_rows,
    sparse_profiles,
    vae_inputs,
)

# --------------------------------------------------------------------------- corrupt and multinomial_nll

_SPARSE = f"corrupt(a (200, 300) batch of 0/1 profiles, drop_probability={SPARSE_P})"
_NLL = "multinomial_nll(logits (6, 9), counts (6, 9) of 0, 1 and 2)"


def _corruption(outputs) -> None:
    rows = profile_rows().numpy()
    what = f"corrupt(the profiles of 32 users ({rows.shape[1]} items), drop_probability={HALF})"
    expect(np.array_equal(np.asarray(outputs["rows_after"]), rows),
           f"{what} changed its input in place: the clean profile is also the training target; build a new tensor "
           "(profiles * mask)")
    corrupted = expect_shape(outputs["rows"], rows.shape, f"{what}: the corrupted batch")
    switched_on = (corrupted[rows == 0] != 0).mean()
    expect(switched_on == 0, f"{what}: {switched_on:.1%} of the items a user never saw are non-zero after "
                             "corruption; dropout corruption only removes observed items")
    profiles = sparse_profiles().numpy()
    sparse = expect_shape(outputs["sparse"], profiles.shape, f"{_SPARSE}: the corrupted batch")
    observed = profiles > 0
    switched_on = (sparse[~observed] != 0).mean()
    expect(switched_on == 0, f"{_SPARSE}: it switched on {switched_on:.1%} of the unobserved items; dropout "
                             "corruption only removes observed items")
    dropped = (sparse[observed] == 0).mean()
    if abs(dropped - (1 - SPARSE_P)) < 0.05:
        raise Failed(f"{_SPARSE}: it dropped {dropped:.1%} of the observed items: it keeps items with the drop "
                     "probability instead of dropping them with it")
    expect(abs(dropped - SPARSE_P) < 0.05, f"{_SPARSE}: it dropped {dropped:.1%} of the observed items, not a share "
                                           "near the drop probability")
    kept = sparse[observed & (sparse != 0)]
    expect(np.allclose(kept, 1 / (1 - SPARSE_P), rtol=1e-5),
           f"{_SPARSE}: the kept items hold values from {kept.min():.4f} to {kept.max():.4f}; scale them by "
           "1 / (1 - drop_probability), as nn.Dropout does, so that the expected input stays the same")
    again = np.asarray(outputs["sparse_again"])
    expect(again.shape == sparse.shape and np.array_equal(again, sparse),
           f"{_SPARSE} twice after the same torch.manual_seed({SPARSE_SEED}): the two masks differ; draw the mask "
           "with torch's random functions (torch.rand_like, torch.bernoulli)")
    expect(not np.array_equal(np.asarray(outputs["sparse_next"]), sparse),
           f"{_SPARSE}, two calls in a row: the same corruption twice; draw a fresh mask on every call")
    ones = expect_shape(outputs["ones"], (400, 500), f"corrupt(torch.ones(400, 500), drop_probability={HALF})")
    expect(abs(float(ones.mean()) - 1.0) < 0.02, f"corrupt(torch.ones(400, 500), drop_probability={HALF}): the mean "
                                                 f"input became {float(ones.mean()):.4f}; the corruption must keep "
                                                 "the expected input (rescale what it keeps)")
    p0 = expect_shape(outputs["ones_p0"], (3, 500), "corrupt(torch.ones(3, 500), drop_probability=0.0)")
    expect(np.array_equal(p0, np.ones((3, 500))), "corrupt(torch.ones(3, 500), drop_probability=0.0) changed its "
                                                  "input: with drop probability 0 nothing is dropped or rescaled")


def _reference_nll():
    import torch

    from course_lib.torch import autoencoder

    counts, logits = loss_inputs()
    with torch.no_grad():
        plain = float(-autoencoder.multinomial_log_likelihood(logits, counts))
        large = float(-autoencoder.multinomial_log_likelihood(logits * 50 + 1000, counts))
    _, gradient, _ = loss_gradient(lambda x, c: -autoencoder.multinomial_log_likelihood(x, c), logits, counts)
    return plain, large, gradient


def _multinomial(outputs) -> None:
    import torch

    plain, large, gradient = _reference_nll()
    got = float(outputs["nll"])
    expect(np.isfinite(got), f"{_NLL} returned {got}, not one finite number")
    if not np.isclose(got, plain, rtol=1e-4):
        counts, logits = loss_inputs()
        wrong = {"the log-likelihood itself: the loss to minimize is its negative": -plain,
                 "a softmax over the users (dim=0); it runs over the items of each user (dim=-1)":
                     float(-(torch.log_softmax(logits, dim=0) * counts).sum(-1).mean()),
                 "an average over the items too; sum over the items of each user, then average over users":
                     float(-(torch.log_softmax(logits, dim=-1) * counts).mean()),
                 "a sum over the users; average over them": float(-(torch.log_softmax(logits, dim=-1) * counts).sum())}
        for hint, value in wrong.items():
            if np.isclose(got, value, rtol=1e-4):
                raise Failed(f"{_NLL}: the value returned is {hint}")
        expect_close(got, plain, _NLL, rtol=1e-4)
    expect_close(outputs["nll_large"], large, f"{_NLL.replace('logits', 'logits * 50 + 1000', 1)} (large logits: "
                 "use log_softmax, which is stable)", rtol=1e-4,
                 describe=lambda i: "the same counts, logits * 50 + 1000")
    backward = str(outputs["nll_backward"])
    expect(not backward, f"{_NLL}: backward() on the loss raised {backward}; return a tensor computed with torch "
                         "operations (no .item(), NumPy or .detach())")
    given = np.asarray(outputs["nll_gradient"])
    expect(given.shape == gradient.shape and not np.isnan(given).any(),
           f"{_NLL}: no gradient reaches the logits; compute the loss with torch operations on them")
    expect_close(given, gradient, f"{_NLL}: the gradient of the loss with respect to the logits", rtol=1e-4,
                 atol=1e-6)


def _corruption_and_loss(outputs, context):
    _corruption(outputs)
    _multinomial(outputs)


# --------------------------------------------------------------------------- reparameterize and kl_divergence

_KL = "kl_divergence(mean (7, 5), log_variance (7, 5))"
_Z = "reparameterize(mean (64, 16), log_variance (64, 16), epsilon (64, 16))"


def _reference_vae():
    import torch

    from course_lib.torch import autoencoder

    kl_mean, kl_log_variance, epsilon, mean, log_variance = vae_inputs()
    kl_mean.requires_grad_()
    kl_log_variance.requires_grad_()
    kl = autoencoder.kl_divergence(kl_mean, kl_log_variance)
    kl.backward()
    mean.requires_grad_()
    log_variance.requires_grad_()
    z = autoencoder.reparameterize(mean, log_variance, epsilon)
    z.sum().backward()
    with torch.no_grad():
        prior = float(autoencoder.kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)))
    return {"kl": float(kl.detach()), "kl_prior": prior, "kl_mean_gradient": kl_mean.grad.double().numpy(),
            "kl_log_variance_gradient": kl_log_variance.grad.double().numpy(), "z": z.detach().double().numpy(),
            "z_mean_gradient": mean.grad.double().numpy(),
            "z_log_variance_gradient": log_variance.grad.double().numpy()}


def _vae_terms(outputs, context):
    expected = _reference_vae()
    got = float(outputs["kl"])
    expect(np.isfinite(got), f"{_KL} returned {got}, not one finite number (sigma^2 = exp(log_variance))")
    expect(got >= 0, f"{_KL} returned a negative value, but a KL divergence is never negative: check the sign of "
                     "each term")
    expect_close(outputs["kl_prior"], expected["kl_prior"], "kl_divergence(zeros (3, 4), zeros (3, 4)), the KL of the "
                 "prior from itself", atol=1e-6, describe=lambda i: "mean = log_variance = 0")
    if not np.isclose(got, expected["kl"], rtol=1e-5):
        for hint, factor in (("the factor 1/2 is missing", 2.0), ("it sums over the users; average over them", 7.0),
                             ("it averages over the latent dimensions; sum over them", 0.2)):
            if np.isclose(got, factor * expected["kl"], rtol=1e-5):
                raise Failed(f"{_KL}: {hint}")
        expect_close(got, expected["kl"], _KL, rtol=1e-5, describe=lambda i: "the grader's seeded (7, 5) tensors")
    expect(float(outputs["kl_small_shifted"]) > float(outputs["kl_small_prior"]),
           "kl_divergence(ones (2, 3), zeros (2, 3)) is not larger than kl_divergence(zeros (2, 3), zeros (2, 3)): "
           "the KL must grow as the mean moves away from the prior's")
    backward = str(outputs["kl_backward"])
    expect(not backward, f"{_KL}: backward() on it raised {backward}; return a tensor computed with torch operations")
    for key, name in (("kl_mean_gradient", "mean"), ("kl_log_variance_gradient", "log_variance")):
        gradient = np.asarray(outputs[key])
        expect(gradient.shape == (7, 5) and not np.isnan(gradient).any(), f"{_KL}: no gradient reaches {name}")
        expect_close(gradient, expected[key], f"{_KL}: its gradient with respect to {name}", rtol=1e-4, atol=1e-6)
    z = expect_shape(outputs["z"], (64, 16), f"{_Z}: z")
    expect(np.array_equal(np.asarray(outputs["z_again"]), z), f"{_Z} twice, with other torch seeds: z differs; use "
                                                              "the epsilon given, draw no noise inside")
    expect_close(z, expected["z"], f"{_Z}: z (mean + sigma * epsilon, sigma = exp(log_variance / 2))", rtol=0,
                 atol=1e-5)
    backward = str(outputs["z_backward"])
    expect(not backward, f"{_Z}: z.sum().backward() raised {backward}; compute z with torch operations")
    for key, name in (("z_mean_gradient", "mean"), ("z_log_variance_gradient", "log_variance")):
        gradient = np.asarray(outputs[key])
        expect(gradient.shape == (64, 16) and not np.isnan(gradient).any(),
               f"{_Z}: after z.sum().backward() no gradient reaches {name}")
        expect_close(gradient, expected[key], f"{_Z}: the gradient of z.sum() with respect to {name}", rtol=0,
                     atol=1e-5)


JUDGES = {
    "nb02_corruption_and_loss_tests": Judge(_corruption_and_loss),
    "nb02_vae_terms_tests": Judge(_vae_terms),
}
