"""The notebook 04 checks accept the reference and name the typical mistakes."""

from __future__ import annotations

import re

import pytest

from course_lib import checks

torch = pytest.importorskip("torch")
nn = torch.nn


def _tower(init="he", output_relu=False, activation=True, default_init=False):
    class StudentTower(nn.Module):
        def __init__(self, input_dim, hidden_dims, output_dim):
            super().__init__()
            widths = [input_dim, *hidden_dims, output_dim]
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
            if not default_init:
                for layer in self.layers:
                    if init == "he":
                        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                    else:
                        nn.init.normal_(layer.weight)
                    nn.init.zeros_(layer.bias)

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x)) if activation else layer(x)
            x = self.layers[-1](x)
            return torch.relu(x) if output_relu else x

    return StudentTower


def test_tower_check_accepts_the_reference_and_a_student_version(capsys):
    from course_lib.torch.two_tower import Tower

    checks.check_tower(Tower)
    checks.check_tower(_tower())
    assert capsys.readouterr().out.count("passed") == 2


@pytest.mark.parametrize("mistake, hint", [
    (_tower(output_relu=True), "ReLU after the last layer"),
    (_tower(activation=False), "linear (affine)"),
    (_tower(init="normal"), "standard deviation 1"),
    (_tower(default_init=True), "He initialization gives"),
])
def test_tower_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        checks.check_tower(mistake)


def test_tower_check_names_missing_layers():
    class OneLayer(nn.Module):
        def __init__(self, input_dim, hidden_dims, output_dim):
            super().__init__()
            self.layer = nn.Linear(input_dim, output_dim)

        def forward(self, x):
            return self.layer(x)

    with pytest.raises(AssertionError, match="3 nn.Linear layers"):
        checks.check_tower(OneLayer)


def test_softmax_check_accepts_the_reference(capsys):
    from course_lib.torch.two_tower import in_batch_softmax_loss

    checks.check_in_batch_softmax_loss(in_batch_softmax_loss)
    assert "passed" in capsys.readouterr().out


def _loss(correction="columns", temperature_mode="divide", reduce="mean", transpose=False):
    def loss(users, items, log_q, temperature):
        scores = users @ items.T
        scores = scores / temperature if temperature_mode == "divide" else scores
        if correction == "columns":
            scores = scores - log_q[None, :]
        elif correction == "added":
            scores = scores + log_q[None, :]
        elif correction == "rows":
            scores = scores - log_q[:, None]
        if transpose:
            scores = scores.T
        labels = torch.arange(len(scores))
        return nn.functional.cross_entropy(scores, labels, reduction=reduce)

    return loss


@pytest.mark.parametrize("mistake, hint", [
    (_loss(correction="none"), "correction is missing"),
    (_loss(correction="added"), "wrong sign"),
    (_loss(correction="rows"), "wrong axis"),
    (_loss(transpose=True), "wrong axis"),
    (_loss(temperature_mode="ignore"), "temperature is ignored"),
    (_loss(reduce="sum"), "summed"),
    (_loss(reduce="none"), "one number"),
])
def test_softmax_check_names_the_mistake(mistake, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        checks.check_in_batch_softmax_loss(mistake)
