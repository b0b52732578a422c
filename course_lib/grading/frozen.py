"""Expected values of the hidden tests, frozen from the reference library in a clean process.

    python -m course_lib.grading.frozen [solutions]            (``python tasks.py freeze``) rewrite them
    python -m course_lib.grading.frozen --check [solutions]    exit 1 when one drifted from the library

A hidden test never compares a student's answer with a library object restored at test time: the
student's kernel could have replaced it (``metrics.recall_at_k = ...``, ``Popularity.score.__code__
= ...``), and the test would then compare the student's answer with itself. Instead each hidden test
that needs the library's answer holds

- its **inputs**, made in the test cell by the code of ``Case.setup`` (seeded generators, small
  synthetic data sets: the same text in the cell and here, which ``check`` verifies), and
- a literal ``hidden_expected = ...``: the library's answer on those inputs, computed here (a
  process the student's code never reaches) when the course is prepared, and written into the
  solution notebook (the source nbgrader generates the assignment from).

Floats are written with 12 significant digits; each test cell states the tolerance it compares with.
Large outputs are frozen as a digest (``DIGEST``: the column sums and one fixed cosine-weighted
combination of the rows), which a wrong answer cannot match by chance. The ItemKNN baseline of
notebook 05's challenge is trained on the full data set: its NDCG@10 is frozen per data set (keyed by a
SHA-256 of the interactions), for MovieLens 100K when this machine has it and for the synthetic
stand-in. ``tests/grading/test_frozen.py`` recomputes everything and fails when a literal drifts.
"""

from __future__ import annotations

import argparse
import ast
import pprint
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

__all__ = ["CASES", "DIGEST", "Case", "compute", "freeze", "check", "fingerprint", "main"]

# The digest of a large output, defined identically in every test cell that uses it.
DIGEST = '''\
def hidden_digest(values):
    """Column sums and a fixed cosine-weighted sum of the rows: a compact, exact summary of an array."""
    values = np.asarray(values, dtype=np.float64)
    values = values.reshape(len(values), -1)
    return np.concatenate([values.sum(axis=0), np.cos(0.7 * np.arange(len(values))) @ values])
'''

_SIGNIFICANT = 12
CHALLENGE_SPLIT_SEED = 7961   # notebook 05's grader split: SEED + 7919, a seed the notebook never uses


@dataclass(frozen=True)
class Case:
    """One hidden test's fixed inputs (``setup``: code run in the test cell and here) and the
    library's answer on them (``expected``: given the namespace ``setup`` filled). ``rtol``: how far
    the library's answer may move before the frozen literal counts as drifted. 1e-9 for float64
    work; float32 work (PyTorch) rounds differently on another CPU (other SIMD kernels) by about
    1e-7, far inside its hidden test's own tolerance, so such a case allows 1e-6."""

    notebook: str
    setup: str
    expected: Callable[[dict], object]
    rtol: float = 1e-9


def _namespace() -> dict:
    import torch

    import course_lib
    from course_lib.closed_form import normalized_adjacency

    return {"np": np, "torch": torch, "course_lib": course_lib, "normalized_adjacency": normalized_adjacency}


def _rounded(value):
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return _rounded(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(f"{float(value):.{_SIGNIFICANT}g}")


def _digest(values) -> np.ndarray:
    namespace = {"np": np}
    exec(DIGEST, namespace)
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return namespace["hidden_digest"](values)


def fingerprint(data) -> str:
    """The key the challenge's frozen baseline is looked up by (the same expression as in its test cell)."""
    namespace = {"np": np, "data": data}
    exec(_FINGERPRINT, namespace)
    return namespace["hidden_fingerprint"]


_FINGERPRINT = ("import hashlib as hidden_hashlib\n"
                "hidden_fingerprint = hidden_hashlib.sha256(np.asarray(data.users, dtype=np.int64).tobytes()\n"
                "                                           + np.asarray(data.items, dtype=np.int64).tobytes()).hexdigest()[:16]\n")


# --------------------------------------------------------------------------- the library's answers

def _recall(ns):
    from course_lib import metrics
    return [metrics.recall_at_k(*case) for case in ns["hidden_cases"]]


def _ndcg(ns):
    from course_lib import metrics
    return [metrics.ndcg_at_k(*case) for case in ns["hidden_cases"]]


def _popularity(ns):
    from course_lib.baselines import Popularity
    return Popularity().fit(ns["hidden_data"]).score(ns["hidden_users"])[0]


def _multinomial(ns):
    from course_lib.torch import autoencoder
    logits, rows = ns["hidden_logits"], ns["hidden_counts"]
    return [float(-autoencoder.multinomial_log_likelihood(logits, rows)),
            float(-autoencoder.multinomial_log_likelihood(logits * 50 + 1000, rows))]


def _kl(ns):
    from course_lib.torch import autoencoder
    return float(autoencoder.kl_divergence(ns["hidden_mean"], ns["hidden_log_variance"]))


def _ease(ns):
    from course_lib.closed_form import ease_from_gram
    x = ns["hidden_small"]
    return [_digest(ease_from_gram(x.T @ x, l2)) for l2 in ns["hidden_l2s"]]


def _in_batch(ns):
    from course_lib.torch import two_tower
    return [float(two_tower.in_batch_softmax_loss(ns["hidden_users"], ns["hidden_items"], ns["hidden_log_q"], 0.2)),
            float(two_tower.in_batch_softmax_loss(ns["hidden_big_users"], ns["hidden_big_items"],
                                                  ns["hidden_big_log_q"], 0.05))]


def _propagation(ns):
    from course_lib.torch.graph import propagate
    return [_digest(propagate(ns["hidden_adjacency"], ns["hidden_embeddings"], k)) for k in range(5)]


def _gfcf(ns):
    from course_lib.closed_form import gfcf_scores
    normalized = ns["hidden_normalized"]
    item_item = (normalized.T @ normalized).toarray()
    return [_digest(gfcf_scores(ns["hidden_rows"], item_item, ns["hidden_vectors"], ns["hidden_degrees"], weight))
            for weight in (0.4, 0.0)]


def _item_knn(ns):
    """ItemKNN's NDCG@10 on the grader's split, for every data set this machine has: the course's
    (MovieLens 100K, when COURSE_LIB_DATA points at it) and the synthetic stand-in the notebook
    falls back to."""
    import warnings

    import course_lib
    from course_lib.checks.graph_models import _item_knn_ndcg
    from course_lib.data.datasets import DatasetNotFoundError

    datasets = [course_lib.make_synthetic()]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            datasets.append(course_lib.load_dataset("ml-100k", download=False))
    except (DatasetNotFoundError, OSError):
        pass
    values = {}
    for data in datasets:
        train, test = course_lib.random_split(data, test_fraction=0.2, seed=CHALLENGE_SPLIT_SEED)
        values[fingerprint(data)] = _item_knn_ndcg(train, test)
    return values


_RANKING_CASES = '''\
hidden_rng = np.random.default_rng({seed})
hidden_cases = [(hidden_rng.permutation(40)[:15].tolist(),
                 set(hidden_rng.choice(40, size=int(hidden_rng.integers(0, 10)), replace=False).tolist()),
                 int(hidden_rng.integers(1, 16))) for _ in range(60)]
hidden_cases += [([3, 1], {{1, 3, 9}}, 10), ([1, 2], {{1, 2, 3}}, 10), ([5, 1, 2], {{1}}, 1), ([4, 8, 15], {{15}}, 3)]
'''

CASES: dict[str, Case] = {
    "recall_at_k_tests": Case("00_data_and_evaluation", _RANKING_CASES.format(seed=2024), _recall),
    "ndcg_at_k_tests": Case("00_data_and_evaluation", _RANKING_CASES.format(seed=2025), _ndcg),
    "most_popular_tests": Case("00_data_and_evaluation", '''\
hidden_data = course_lib.make_synthetic(n_users=40, n_items=30, mean_per_user=8, min_per_user=2, seed=11)
hidden_users = np.array([0, 7, 39])
''', _popularity),
    "nb02_corruption_and_loss_tests": Case("02_autoencoders", '''\
hidden_generator = torch.Generator().manual_seed(21)
hidden_counts = torch.randint(0, 3, (6, 9), generator=hidden_generator).float()
hidden_logits = torch.randn(6, 9, generator=hidden_generator)
''', _multinomial),
    "nb02_vae_terms_tests": Case("02_autoencoders", '''\
hidden_generator = torch.Generator().manual_seed(22)
hidden_mean = torch.randn(7, 5, generator=hidden_generator)
hidden_log_variance = torch.randn(7, 5, generator=hidden_generator)
''', _kl),
    "nb03_ease_fit_tests": Case("03_ease_r", DIGEST + '''\
hidden_small = course_lib.make_synthetic(n_users=60, n_items=20, mean_per_user=6, min_per_user=2, seed=5)
hidden_small = hidden_small.to_csr(binary=True).toarray().astype(np.float64)
hidden_l2s = (1.0, 50.0, 1e4, 1e-2)
''', _ease),
    "nb04_in_batch_softmax_tests": Case("04_two_tower", '''\
hidden_generator = torch.Generator().manual_seed(5)
hidden_users = torch.randn(9, 4, generator=hidden_generator)
hidden_items = torch.randn(9, 4, generator=hidden_generator)
hidden_log_q = torch.log(torch.rand(9, generator=hidden_generator) / 9)
hidden_big_users = torch.randn(256, 16, generator=hidden_generator)
hidden_big_items = torch.randn(256, 16, generator=hidden_generator)
hidden_big_log_q = torch.log(torch.rand(256, generator=hidden_generator) / 256)
''', _in_batch, rtol=1e-6),
    "nb05_propagation_tests": Case("05_graph_models", DIGEST + '''\
hidden_graph = normalized_adjacency(course_lib.make_synthetic(n_users=30, n_items=40, mean_per_user=20, seed=9))
hidden_adjacency = torch.sparse_coo_tensor(np.vstack([hidden_graph.row, hidden_graph.col]), hidden_graph.data,
                                           hidden_graph.shape, check_invariants=True).coalesce().float()
hidden_embeddings = torch.randn(hidden_graph.shape[0], 5, generator=torch.Generator().manual_seed(9))
''', _propagation),
    "nb05_gfcf_scores_tests": Case("05_graph_models", DIGEST + '''\
from scipy import sparse as hidden_sparse

hidden_rng = np.random.default_rng(13)
hidden_normalized = hidden_sparse.csr_matrix(hidden_rng.random((25, 18)) * (hidden_rng.random((25, 18)) < 0.3))
hidden_vectors = np.linalg.qr(hidden_rng.normal(size=(18, 4)))[0]
hidden_degrees = hidden_rng.integers(1, 9, size=18).astype(np.float64)
hidden_rows = (hidden_rng.random((6, 18)) < 0.3).astype(np.float64)
''', _gfcf),
    "nb05_challenge_tests": Case("05_graph_models", _FINGERPRINT, _item_knn),
}


# --------------------------------------------------------------------------- reading and writing cells

def _hidden_part(source: str) -> str:
    start, end = source.find("### BEGIN HIDDEN TESTS"), source.find("### END HIDDEN TESTS")
    return source[start:end] if 0 <= start < end else ""


def _assignment(source: str):
    """The top-level ``hidden_expected = <literal>`` statement of a cell: (node, value)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["hidden_expected"]:
            return node, ast.literal_eval(node.value)
    return None, None


def _cells(solutions: Path):
    for path in sorted(Path(solutions).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in CASES:
                yield path, notebook, cell, grade_id


def compute(grade_id: str) -> object:
    """The library's answer for one hidden test, on its fixed inputs, rounded as it is frozen."""
    case = CASES[grade_id]
    namespace = _namespace()
    if "data." in case.setup:       # the challenge's fingerprint: its own values are computed per data set
        namespace["data"] = namespace["course_lib"].make_synthetic()
    exec(case.setup, namespace)
    return _rounded(case.expected(namespace))


def _literal(value) -> str:
    return "hidden_expected = " + pprint.pformat(value, width=110, compact=True, sort_dicts=True).replace(
        "\n", "\n" + " " * len("hidden_expected = "))


def freeze(solutions: Path) -> list[str]:
    """Recompute every frozen value and rewrite the ``hidden_expected`` literals that changed;
    returns the grade ids rewritten."""
    changed, notebooks = [], {}
    for path, notebook, cell, grade_id in _cells(solutions):
        _check_cell(cell.source, grade_id)
        node, old = _assignment(cell.source)
        new = compute(grade_id)
        if isinstance(old, dict) and isinstance(new, dict):
            new = {**old, **new}  # keep the values of data sets this machine lacks (ML-100K frozen elsewhere)
        if old == new or _same(old, new, CASES[grade_id].rtol):
            continue
        lines = cell.source.split("\n")
        lines[node.lineno - 1:node.end_lineno] = _literal(new).split("\n")
        cell.source = "\n".join(lines)
        changed.append(grade_id)
        notebooks[path] = notebook
    for path, notebook in notebooks.items():
        nbformat.write(notebook, path)
    return changed


def _check_cell(source: str, grade_id: str) -> None:
    hidden = _hidden_part(source)
    if CASES[grade_id].setup not in hidden:
        raise ValueError(f"The hidden tests of {grade_id!r} do not hold the fixed inputs of course_lib.grading.frozen "
                         f"(CASES[{grade_id!r}].setup, verbatim): the frozen values would not be for their inputs.")
    if _assignment(source)[0] is None or "hidden_expected = " not in hidden:
        raise ValueError(f"The hidden tests of {grade_id!r} have no top-level `hidden_expected = <literal>` line.")


def check(solutions: Path) -> dict[str, str]:
    """Every frozen literal against the library now: {grade id: what is wrong}; empty when all agree.
    The comparison allows each case's ``rtol`` (1e-9 unless the case computes in float32)."""
    problems, seen = {}, set()
    for _, _, cell, grade_id in _cells(solutions):
        seen.add(grade_id)
        try:
            _check_cell(cell.source, grade_id)
        except ValueError as error:
            problems[grade_id] = str(error)
            continue
        _, frozen = _assignment(cell.source)
        now = compute(grade_id)
        if not _same(frozen, now, CASES[grade_id].rtol):
            problems[grade_id] = (f"the frozen hidden_expected differs from the library's answer now ({now!r}): "
                                  "run `python tasks.py freeze` and `make student`")
    for grade_id in sorted(set(CASES) - seen):
        problems[grade_id] = "no solution notebook has this test cell"
    return problems


def _same(frozen, now, rtol: float = 1e-9) -> bool:
    if isinstance(frozen, dict) and isinstance(now, dict):
        # data sets this machine lacks may be frozen from another one; those it has must agree
        return set(now) <= set(frozen) and all(_same(frozen[key], now[key], rtol) for key in now)
    if isinstance(frozen, list) and isinstance(now, list):
        return len(frozen) == len(now) and all(_same(a, b, rtol) for a, b in zip(frozen, now, strict=True))
    if isinstance(frozen, (int, float)) and isinstance(now, (int, float)):
        return bool(np.isclose(frozen, now, rtol=rtol, atol=1e-12))
    return frozen == now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Freeze the hidden tests' expected values from the library.")
    parser.add_argument("solutions", type=Path, nargs="?", default=Path("solutions"))
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a frozen value drifted")
    arguments = parser.parse_args(argv)
    if arguments.check:
        problems = check(arguments.solutions)
        for grade_id, problem in problems.items():
            print(f"{grade_id}: {problem}")
        print("frozen expected values: " + ("DRIFTED" if problems else f"all {len(CASES)} agree with the library"))
        return 1 if problems else 0
    changed = freeze(arguments.solutions)
    print(f"frozen expected values rewritten: {', '.join(changed) or 'none (all current)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
