"""The checks of notebook 02 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

torch = pytest.importorskip("torch")
F = torch.nn.functional

NOTEBOOK = "02_autoencoders"


# ------------------------------------------------------------------ corruption
def _corrupt_no_return(profiles, drop_probability):
    keep = (torch.rand_like(profiles) >= drop_probability).float()
    profiles * keep / (1 - drop_probability)  # noqa: B018 - the forgotten return


def _corrupt_in_place(profiles, drop_probability):
    keep = (torch.rand_like(profiles) >= drop_probability).float()
    return profiles.mul_(keep / (1 - drop_probability))


def _corrupt(keep_with=None, scale="divide"):
    def corrupt(profiles, drop_probability):
        keep_probability = 1 - drop_probability if keep_with is None else keep_with(drop_probability)
        keep = (torch.rand_like(profiles) < keep_probability).float()
        factor = {"divide": 1 / (1 - drop_probability), "none": 1.0, "multiply": 1 - drop_probability}[scale]
        return profiles * keep * factor
    return corrupt


def _corrupt_numpy(profiles, drop_probability):
    keep = torch.as_tensor(np.random.random(tuple(profiles.shape)) >= drop_probability).float()  # noqa: NPY002
    return profiles * keep / (1 - drop_probability)


def _corrupt_fixed_generator(profiles, drop_probability):
    generator = torch.Generator().manual_seed(0)
    keep = (torch.rand(profiles.shape, generator=generator) >= drop_probability).float()
    return profiles * keep / (1 - drop_probability)


def _corrupt_flips(profiles, drop_probability):
    flip = (torch.rand_like(profiles) < drop_probability).float()
    return (profiles + flip) % 2


# ------------------------------------------------------------------ multinomial loss
def _nll_no_return(logits, profiles):
    -(F.log_softmax(logits, dim=-1) * profiles).sum(-1).mean()  # noqa: B018


def _nll_manual(logits, profiles):
    probabilities = torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True)
    return -(torch.log(probabilities) * profiles).sum(-1).mean()


# ------------------------------------------------------------------ VAE terms
def _kl(factor=0.5, constant=1.0, reduce="sum_mean", variance=None):
    def kl_divergence(mean, log_variance):
        sigma2 = log_variance.exp() if variance is None else log_variance
        log_sigma2 = log_variance if variance is None else torch.log(log_variance)
        terms = factor * (sigma2 + mean.square() - constant - log_sigma2)
        return {"sum_mean": terms.sum(-1).mean(), "mean": terms.mean(), "sum": terms.sum(),
                "negative": -terms.sum(-1).mean()}[reduce]
    return kl_divergence


def _kl_no_return(mean, log_variance):
    (0.5 * (log_variance.exp() + mean.square() - 1 - log_variance)).sum(-1).mean()  # noqa: B018


MISTAKES = [
    ("corrupt: forgotten return", "check_corruption", _corrupt_no_return, "did you forget `return`"),
    ("corrupt: in place", "check_corruption", _corrupt_in_place, "in place"),
    ("corrupt: keeps with p", "check_corruption", _corrupt(keep_with=lambda p: p), "instead of dropping"),
    ("corrupt: no rescaling", "check_corruption", _corrupt(scale="none"), "still 1"),
    ("corrupt: multiplied by 1 - p", "check_corruption", _corrupt(scale="multiply"), "divide by it"),
    ("corrupt: NumPy's global generator", "check_corruption", _corrupt_numpy, "torch's random functions"),
    ("corrupt: a fixed generator", "check_corruption", _corrupt_fixed_generator, "fresh random mask"),
    ("corrupt: flips entries", "check_corruption", _corrupt_flips, "switched on"),
    ("nll: forgotten return", "check_multinomial_loss", _nll_no_return, "did you forget `return`"),
    ("nll: the log-likelihood", "check_multinomial_loss",
     lambda z, x: (F.log_softmax(z, -1) * x).sum(-1).mean(), "its negative"),
    ("nll: softmax over users", "check_multinomial_loss",
     lambda z, x: -(F.log_softmax(z, 0) * x).sum(-1).mean(), "dim=0"),
    ("nll: no log", "check_multinomial_loss", lambda z, x: -(F.softmax(z, -1) * x).sum(-1).mean(), "logarithm"),
    ("nll: mean over items", "check_multinomial_loss",
     lambda z, x: -(F.log_softmax(z, -1) * x).mean(), "averaged over the items"),
    ("nll: sum over users", "check_multinomial_loss",
     lambda z, x: -(F.log_softmax(z, -1) * x).sum(), "summed over the users"),
    ("nll: logistic loss", "check_multinomial_loss",
     lambda z, x: F.binary_cross_entropy_with_logits(z, x, reduction="none").sum(-1).mean(), "binary cross-entropy"),
    ("nll: a float", "check_multinomial_loss",
     lambda z, x: -(F.log_softmax(z, -1) * x).sum(-1).mean().item(), "should be a torch tensor"),
    ("nll: softmax by hand", "check_multinomial_loss", _nll_manual, "F.log_softmax"),
    ("reparameterize: forgotten return", "check_reparameterization",
     lambda m, lv, e: None, "did you forget `return`"),
    ("reparameterize: variance", "check_reparameterization",
     lambda m, lv, e: m + torch.exp(lv) * e, "standard deviation exp(log_variance / 2)"),
    ("reparameterize: log-variance as std", "check_reparameterization",
     lambda m, lv, e: m + lv * e, "logarithm of the variance"),
    ("reparameterize: no noise", "check_reparameterization", lambda m, lv, e: m * 1.0, "add the noise"),
    ("reparameterize: its own noise", "check_reparameterization",
     lambda m, lv, e: m + torch.exp(0.5 * lv) * torch.randn_like(m), "use the epsilon you are given"),
    ("reparameterize: through NumPy", "check_reparameterization",
     lambda m, lv, e: torch.as_tensor(m.detach().numpy() + np.exp(0.5 * lv.detach().numpy()) * e.numpy()),
     "carries no gradient"),
    ("kl: forgotten return", "check_kl_divergence", _kl_no_return, "did you forget `return`"),
    ("kl: sign", "check_kl_divergence", _kl(reduce="negative"), "never negative"),
    ("kl: no 1/2", "check_kl_divergence", _kl(factor=1.0), "factor 1/2"),
    ("kl: mean over latent dimensions", "check_kl_divergence", _kl(reduce="mean"), "averaged over the latent"),
    ("kl: sum over users", "check_kl_divergence", _kl(reduce="sum"), "summed over the users"),
    ("kl: no constant", "check_kl_divergence", _kl(constant=0.0), "constant -1"),
    ("kl: log-variance as variance", "check_kl_divergence", _kl(variance="raw"), "logarithm of the variance"),
    ("kl: a float", "check_kl_divergence", lambda m, lv: _kl()(m, lv).item(), "should be a torch tensor"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    assert_named(check, answer, expected)


@pytest.mark.parametrize("check, name", [
    ("check_corruption", "corrupt"),
    ("check_multinomial_loss", "multinomial_nll"),
    ("check_reparameterization", "reparameterize"),
    ("check_kl_divergence", "kl_divergence"),
])
def test_check_accepts_the_notebook_answer(check, name, capsys):
    getattr(checks, check)(solution(NOTEBOOK, name))
    assert capsys.readouterr().out


def test_checks_accept_the_library_functions(capsys):
    from course_lib.torch import autoencoder

    checks.check_kl_divergence(autoencoder.kl_divergence)
    checks.check_multinomial_loss(lambda z, x: -autoencoder.multinomial_log_likelihood(z, x))
    assert capsys.readouterr().out.count("matches") == 2
