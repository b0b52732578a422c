"""Every trained recommender, in both frameworks, takes ``fit(..., show_progress=False)`` (DESIGN.md)."""

from __future__ import annotations

import importlib
import inspect

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from tests.torch_tf.device_guard import MODELS, tiny_data  # noqa: E402

CLOSED_FORM = {"EASE"}  # one linear solve: nothing to show progress of


@pytest.mark.parametrize("framework", ["torch", "tf"])
@pytest.mark.parametrize("name", sorted(set(MODELS) - CLOSED_FORM))
def test_fit_takes_show_progress(framework, name):
    cls = getattr(importlib.import_module(f"course_lib.{framework}.{MODELS[name][0]}"), name)
    assert "show_progress" in inspect.signature(cls.fit).parameters, f"{framework} {name}.fit has no show_progress"


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_show_progress_false_prints_no_bar_and_true_does(framework, capsys):
    data = tiny_data()["ratings"]
    module = importlib.import_module(f"course_lib.{framework}.autoencoder")
    arguments = dict(hidden_dim=8, latent_dim=4, batch_size=16, epochs=1, seed=0)
    module.MultVAE(**arguments).fit(data, show_progress=False)
    assert "MultVAE" not in capsys.readouterr().err
    module.MultVAE(**arguments, show_progress=False).fit(data, show_progress=True)
    assert "MultVAE" in capsys.readouterr().err
