"""The checks of notebook 04 accept the notebook's answers and name the typical mistakes."""

from __future__ import annotations

import pytest

from course_lib import checks
from tests.checks._hints import assert_named
from tests.checks._solutions import solution

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

NOTEBOOK = "04_two_tower"


def _tower(init="he", output_relu=False, activation=True, bias="zeros", container=nn.ModuleList, returns=True):
    class StudentTower(nn.Module):
        def __init__(self, input_dim, hidden_dims, output_dim):
            super().__init__()
            widths = [input_dim, *hidden_dims, output_dim]
            self.layers = container([nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)])
            for layer in self.layers:
                if init == "he":
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                elif init == "normal":
                    nn.init.normal_(layer.weight)
                if bias == "zeros":
                    nn.init.zeros_(layer.bias)

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x)) if activation else layer(x)
            x = self.layers[-1](x)
            x = torch.relu(x) if output_relu else x
            return x if returns else None

    return StudentTower


def _loss(correction="subtract", temperature="divide", reduction="mean", transpose=False, returns="tensor"):
    def in_batch_softmax_loss(user_vectors, item_vectors, log_q, temperature_value):
        first, second = (item_vectors, user_vectors) if transpose else (user_vectors, item_vectors)
        scores = first @ second.T
        scores = scores / temperature_value if temperature == "divide" else \
            scores * temperature_value if temperature == "multiply" else scores
        scores = {"subtract": scores - log_q[None, :], "add": scores + log_q[None, :], "rows": scores - log_q[:, None],
                  "none": scores}[correction]
        loss = F.cross_entropy(scores, torch.arange(len(scores)), reduction=reduction)
        if returns == "float":
            return loss.item()
        return loss if returns == "tensor" else None
    return in_batch_softmax_loss


MISTAKES = [
    ("tower: forward without return", "check_tower", _tower(returns=False), "did you forget `return`"),
    ("tower: ReLU at the output", "check_tower", _tower(output_relu=True), "ReLU after the last layer"),
    ("tower: no ReLU", "check_tower", _tower(activation=False), "linear (affine)"),
    ("tower: normal init", "check_tower", _tower(init="normal"), "standard deviation 1"),
    ("tower: default init", "check_tower", _tower(init="default"), "He initialization gives"),
    ("tower: default biases", "check_tower", _tower(bias="default"), "biases should start at zero"),
    ("tower: a Python list", "check_tower", _tower(container=list), "nn.ModuleList"),
    ("loss: forgotten return", "check_in_batch_softmax_loss", _loss(returns="none"), "did you forget `return`"),
    ("loss: no logQ", "check_in_batch_softmax_loss", _loss(correction="none"), "log-popularity correction"),
    ("loss: logQ on the rows", "check_in_batch_softmax_loss", _loss(correction="rows"), "wrong axis"),
    ("loss: logQ added", "check_in_batch_softmax_loss", _loss(correction="add"), "wrong sign"),
    ("loss: no temperature", "check_in_batch_softmax_loss", _loss(temperature="ignore"), "temperature is ignored"),
    ("loss: times the temperature", "check_in_batch_softmax_loss", _loss(temperature="multiply"), "divide by it"),
    ("loss: sum", "check_in_batch_softmax_loss", _loss(reduction="sum"), "take their mean"),
    ("loss: per example", "check_in_batch_softmax_loss", _loss(reduction="none"), "one number"),
    ("loss: transposed", "check_in_batch_softmax_loss", _loss(transpose=True), "wrong axis"),
    ("loss: a float", "check_in_batch_softmax_loss", _loss(returns="float"), "should be a torch tensor"),
]


@pytest.mark.parametrize("check, answer, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_mistake(check, answer, expected):
    assert_named(check, answer, expected)


def test_checks_accept_the_notebook_and_library_answers(capsys):
    from course_lib.torch import two_tower

    checks.check_tower(solution(NOTEBOOK, "Tower"))
    checks.check_tower(two_tower.Tower)
    checks.check_tower(_tower())
    checks.check_in_batch_softmax_loss(solution(NOTEBOOK, "in_batch_softmax_loss"))
    checks.check_in_batch_softmax_loss(two_tower.in_batch_softmax_loss)
    assert capsys.readouterr().out.count("passed") == 5
