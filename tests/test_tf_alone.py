"""Every TensorFlow model, with TensorFlow alone installed (as `make colab-check` runs: Colab's
TensorFlow 2.20 and Keras 3.13, no PyTorch). The twin tests need both frameworks and skip there;
this fits each ``course_lib.tf`` recommender for one epoch on a tiny synthetic set and scores."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import course_lib  # noqa: E402
import course_lib.tf  # noqa: E402
from course_lib.sequences import sequence_split  # noqa: E402

SMALL = {"embedding_dim": 4, "hidden_dim": 8, "latent_dim": 4, "hidden_dims": (8,), "feature_dim": 2, "output_dim": 4,
         "n_layers": 1, "n_blocks": 1, "n_heads": 2}


def _recommenders() -> list[type]:
    found = {}
    for module_info in pkgutil.iter_modules(course_lib.tf.__path__):
        module = importlib.import_module(f"course_lib.tf.{module_info.name}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and hasattr(cls, "fit") \
                    and hasattr(cls, "score") and not inspect.isabstract(cls) and not name.startswith(("_", "TF")):  # TF*: bases
                found[f"{module_info.name}.{name}"] = cls
    return [found[k] for k in sorted(found)]


RECOMMENDERS = _recommenders()


@pytest.fixture(scope="module")
def data():
    ratings = course_lib.make_synthetic(n_users=40, n_items=60, mean_per_user=12, min_per_user=5, seed=0)
    sequences, held_out = sequence_split(ratings, max_length=6, test_fraction=0.25, seed=0)
    return {"ratings": ratings, "sequences": sequences, "sequence_inputs": held_out.inputs}


def test_there_are_tensorflow_recommenders():
    assert len(RECOMMENDERS) >= 15, [c.__name__ for c in RECOMMENDERS]


@pytest.mark.parametrize("cls", RECOMMENDERS, ids=[f"{c.__module__.rsplit('.', 1)[1]}.{c.__name__}" for c in RECOMMENDERS])
def test_fits_one_epoch_and_scores(cls, data):
    parameters = inspect.signature(cls.__init__).parameters
    arguments = {k: v for k, v in SMALL.items() if k in parameters}
    for key, value in (("epochs", 1), ("seed", 0), ("show_progress", False), ("device", "cpu")):
        if key in parameters:
            arguments[key] = value
    sequence_model = cls.__module__.endswith(".sequence")
    model = cls(**arguments).fit(data["sequences" if sequence_model else "ratings"])
    queries = data["sequence_inputs"] if sequence_model else np.arange(8)
    scores = np.asarray(model.score(queries))
    assert scores.shape == (len(queries), data["ratings"].n_items)
    assert np.isfinite(scores).all()
