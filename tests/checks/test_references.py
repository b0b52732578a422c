"""The references a notebook falls back on pass their own exercises' checks, and
`yours_or_reference` picks the student's answer only when its check passed."""

from __future__ import annotations

import pytest

from course_lib import checks
from course_lib.checks import _display, _references

pytest.importorskip("torch")


@pytest.mark.parametrize(("check", "reference"), [
    ("check_training_loop", "train_one_epoch"),
    ("check_latent_factor_net", "LatentFactorNet"),
    ("check_rmse_training", "train_rating_network"),
])
def test_each_reference_passes_its_exercise_check(check, reference, capsys):
    getattr(checks, check)(_references._REFERENCES[reference]())   # outside a kernel a failed check raises
    assert capsys.readouterr().out.strip()                         # and a passed one prints its line


def test_the_students_answer_only_after_its_check_passed(monkeypatch, capsys):
    def train_one_epoch(model, loader, loss_fn, optimizer):
        return 0.0

    monkeypatch.setattr(_display, "_OUTCOMES", [])
    assert checks.yours_or_reference(train_one_epoch) is _references._train_one_epoch
    assert "has not been checked yet" in capsys.readouterr().out
    _display._OUTCOMES.append(_display.CheckOutcome("train_one_epoch", _display.NOT_DONE))
    assert checks.yours_or_reference(train_one_epoch) is _references._train_one_epoch
    assert "is not done yet: this cell uses the course's reference train_one_epoch" in capsys.readouterr().out
    _display._OUTCOMES.append(_display.CheckOutcome("train_one_epoch", _display.PASSED))
    assert checks.yours_or_reference(train_one_epoch) is train_one_epoch
    assert capsys.readouterr().out == "Using your train_one_epoch (its check passed).\n"
    _display._OUTCOMES.append(_display.CheckOutcome("train_one_epoch", _display.FAILED, hint="wrong"))
    assert checks.yours_or_reference(train_one_epoch) is _references._train_one_epoch
    assert "has not passed its check yet" in capsys.readouterr().out


def test_an_exercise_without_a_reference_is_named():
    def recall_at_k(recommended, relevant, k):
        return 0.0

    with pytest.raises(ValueError, match="no reference for 'recall_at_k'; references exist for"):
        checks.yours_or_reference(recall_at_k)
