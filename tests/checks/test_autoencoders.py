"""The checks of notebook 02 accept the reference and name the typical mistakes."""

from __future__ import annotations

import pytest

from course_lib import checks

torch = pytest.importorskip("torch")
F = torch.nn.functional

from course_lib.torch.autoencoder import kl_divergence, multinomial_log_likelihood, reparameterize  # noqa: E402


def _corrupt(profiles, p):
    return profiles * (torch.rand_like(profiles) >= p).float() / (1 - p)


def _seed_bug(profiles, p):  # the seed notebook's mask: most inputs switched on, in place
    profiles[torch.rand_like(profiles) < p] = 0
    profiles[torch.rand_like(profiles) < 1 - p] = 1
    return profiles


def test_corruption_check_accepts_the_reference(capsys):
    checks.check_corruption(_corrupt)
    assert "never switches" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (_seed_bug, "in place"),
    (lambda x, p: torch.where(torch.rand_like(x) < 0.05, torch.ones_like(x), _corrupt(x, p)), "switched on"),
    (lambda x, p: x * (torch.rand_like(x) < p).float() / p, "instead of dropping"),
    (lambda x, p: x * (torch.rand_like(x) >= p).float(), "scale them"),
    (lambda x, p: _corrupt(x, 0.6), "about 30%"),
])
def test_corruption_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_corruption(mistake)


def test_multinomial_check(capsys):
    checks.check_multinomial_loss(lambda logits, x: -multinomial_log_likelihood(logits, x))
    assert "matches" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (multinomial_log_likelihood, "its negative"),
    (lambda z, x: -(F.log_softmax(z, 0) * x).sum(-1).mean(), "dim=0"),
    (lambda z, x: -(F.softmax(z, -1) * x).sum(-1).mean(), "logarithm"),
    (lambda z, x: -(F.log_softmax(z, -1) * x).mean(), "averaged over the items"),
    (lambda z, x: F.binary_cross_entropy_with_logits(z, x), "logistic"),
])
def test_multinomial_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_multinomial_loss(mistake)


def test_reparameterization_check(capsys):
    checks.check_reparameterization(reparameterize)
    assert "differentiable" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda m, v, e: m + torch.exp(v) * e, "standard deviation"),
    (lambda m, v, e: m + v * e, "logarithm of the variance"),
    (lambda m, v, e: m, "add the noise"),
    (lambda m, v, e: (m + torch.exp(0.5 * v) * e).detach(), "no gradient"),
])
def test_reparameterization_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_reparameterization(mistake)


def test_kl_check(capsys):
    checks.check_kl_divergence(kl_divergence)
    assert "matches" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (lambda m, v: -kl_divergence(m, v), "sign"),
    (lambda m, v: 2 * kl_divergence(m, v), "1/2"),
    (lambda m, v: (0.5 * (-v + v.exp() + m.square() - 1)).mean(), "averaged over the latent"),
    (lambda m, v: (0.5 * (-v + v.exp() + m.square() - 1)).sum(), "summed over the users"),
])
def test_kl_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_kl_divergence(mistake)
