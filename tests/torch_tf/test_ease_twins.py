"""EASE in NumPy, PyTorch and TensorFlow: the same weights within 1e-6 (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import course_lib
from course_lib.baselines import Popularity
from course_lib.closed_form import EASE as NumpyEASE
from course_lib.closed_form import CatalogueTooLargeError

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
from course_lib.tf.ease import EASE as TFEASE  # noqa: E402
from course_lib.torch.ease import EASE as TorchEASE  # noqa: E402

FRAMEWORKS = {"torch": TorchEASE, "tf": TFEASE}


@pytest.fixture(scope="module")
def split():
    data = course_lib.make_synthetic(n_users=300, n_items=250, mean_per_user=35, seed=4)
    return course_lib.random_split(data, test_fraction=0.2, seed=0)


@pytest.mark.parametrize("options", [{}, {"normalize_rows": True, "normalize_columns": True, "l2": 3.0}])
def test_three_implementations_give_the_same_weights_and_scores(split, options):
    train, _ = split
    reference = NumpyEASE(**options).fit(train)
    users = np.arange(0, train.n_users, 3)
    for framework, cls in FRAMEWORKS.items():
        twin = cls(device="cpu", **options).fit(train)
        weights = twin.get_weights()
        assert set(weights) == {"item_weights"}, framework
        assert weights["item_weights"].dtype == np.float64
        assert np.abs(weights["item_weights"] - reference.item_weights_).max() < 1e-6, framework
        assert np.abs(twin.score(users) - reference.score(users)).max() < 1e-6, framework


def test_weights_copy_between_the_twins(split):
    train, _ = split
    source = TorchEASE(l2=20.0).fit(train)
    target = TFEASE(l2=500.0).fit(train)
    target.set_weights(source.get_weights())
    assert np.abs(target.score([0, 1]) - source.score([0, 1])).max() < 1e-10


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_float32_is_close(split, framework):
    train, _ = split
    single = FRAMEWORKS[framework](dtype="float32").fit(train).get_weights()["item_weights"]
    assert single.dtype == np.float32
    assert np.abs(single - NumpyEASE().fit(train).item_weights_).max() < 1e-4


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_beats_popularity(split, framework):
    train, test = split
    scores = {name: course_lib.evaluate(model.fit(train), train, test, cutoffs=(10,), beyond_accuracy=False)
              ["ndcg"].iloc[0] for name, model in {"pop": Popularity(), "ease": FRAMEWORKS[framework](50.0)}.items()}
    assert scores["ease"] > scores["pop"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_errors(split, framework):
    train, _ = split
    cls = FRAMEWORKS[framework]
    with pytest.raises(ValueError, match="l2"):
        cls(l2=0.0).fit(train)
    with pytest.raises(ValueError, match="dtype"):
        cls(dtype="int32").fit(train)
    with pytest.raises(CatalogueTooLargeError, match="250 items"):
        cls(max_memory_bytes=10_000).fit(train)
    with pytest.raises(ValueError, match="Unknown user ids"):
        cls().fit(train).score([train.n_users + 5])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_singular_system_gets_one_message_in_all_three(split, dtype):
    from course_lib.validation import SingularSystemError

    train, _ = split
    tiny = 1e-30 if dtype == "float64" else 1e-9  # far below eps * |X^T X|
    messages = {}
    for name, cls in {"numpy": NumpyEASE, **FRAMEWORKS}.items():
        model = cls(l2=tiny, dtype=dtype)
        with pytest.raises(SingularSystemError) as caught:
            model.fit(train)
        messages[name] = str(caught.value)
        assert not hasattr(model, "n_items_"), name  # nothing was kept: not fitted
    assert len(set(messages.values())) == 1, messages
    message = messages["numpy"]
    assert message.startswith(f"EASE could not solve its system: X^T X + l2 * I ({train.n_items:,} x "
                              f"{train.n_items:,}) is singular at working precision with l2={tiny!r}")
    assert "Raise `l2`" in message


def test_the_framework_solvers_report_a_singular_matrix_the_same_way():
    from course_lib.tf.ease import ease_weights as tf_weights
    from course_lib.torch.ease import ease_weights as torch_weights
    from course_lib.validation import SingularSystemError

    gram = np.zeros((4, 4))  # every item unseen and no penalty: G + 0 I is the zero matrix
    with pytest.raises(SingularSystemError, match=r"\(4 x 4\) is singular at working precision with l2=0\.0"):
        torch_weights(torch.as_tensor(gram), 0.0)
    with pytest.raises(SingularSystemError, match=r"\(4 x 4\) is singular at working precision with l2=0\.0"):
        tf_weights(tf.constant(gram), 0.0)
    from course_lib.closed_form import ease_from_gram

    with pytest.raises(SingularSystemError, match=r"\(4 x 4\) is singular .* l2=0\.0 \(l2 is not positive\)"):
        ease_from_gram(gram, 0.0)
