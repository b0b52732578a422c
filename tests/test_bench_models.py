"""The benchmark's registry (bench/models.py) covers every model, and its protocols run.

Fast: the frameworks' recommender classes are found by importing the PyTorch modules and parsing
the TensorFlow twins' ``__all__`` (no TensorFlow import); the protocols run on a small synthetic
data set with one cheap model each.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import sys
from pathlib import Path

import pytest

import course_lib
from course_lib.base import Recommender

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import models  # noqa: E402
import run_all  # noqa: E402

TARGETS = {entry.target for entry in models.MODELS.values()}
KEYS = {"protocol", "metric", "value", "other_metrics", "fit_seconds", "evaluate_seconds"}


def _all_names(path: Path) -> list[str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


# Twin files that hold shared pieces of the networks and steps, no recommender of their own.
HELPER_FILES = {"__init__", "training", "optimizers", "layers", "attention"}


def _twin_files() -> list[str]:
    torch_files = {p.stem for p in (ROOT / "course_lib" / "torch").glob("*.py")}
    tf_files = {p.stem for p in (ROOT / "course_lib" / "tf").glob("*.py")}
    return sorted((torch_files & tf_files) - HELPER_FILES)


def test_names_are_unique_and_frameworks_known():
    assert len(models.MODELS) == len({name.lower() for name in models.MODELS})
    for name, entry in models.MODELS.items():
        assert entry.framework in ("numpy", "torch", "tf"), name
        assert entry.protocol in models.PROTOCOLS, name
        if entry.framework != "numpy":
            assert f"({entry.framework})" in name, name
            assert entry.target.startswith(f"course_lib.{entry.framework}."), name


@pytest.mark.parametrize("module", _twin_files())
def test_every_twin_recommender_is_benchmarked(module):
    pytest.importorskip("torch")
    torch_module = importlib.import_module(f"course_lib.torch.{module}")
    tf_names = set(_all_names(ROOT / "course_lib" / "tf" / f"{module}.py"))
    found = 0
    for name in torch_module.__all__:
        value = getattr(torch_module, name)
        if not (inspect.isclass(value) and issubclass(value, Recommender)):
            continue
        found += 1
        if value.__module__ != torch_module.__name__:  # re-exported (GlobalMean): benchmarked where it lives
            assert f"{value.__module__}:{name}" in TARGETS, f"{value.__module__}.{name} is not in bench/models.py"
            continue
        assert name in tf_names, f"{name} of course_lib.torch.{module} has no TensorFlow twin"
        for framework in ("torch", "tf"):
            assert f"course_lib.{framework}.{module}:{name}" in TARGETS, \
                f"course_lib.{framework}.{module}.{name} is not in bench/models.py MODELS"
    assert found, f"course_lib.torch.{module} exports no recommender"


@pytest.mark.parametrize("module", ["baselines", "closed_form", "rating_models"])
def test_every_numpy_recommender_is_benchmarked(module):
    library = importlib.import_module(f"course_lib.{module}")
    for name in library.__all__:
        value = getattr(library, name)
        if inspect.isclass(value) and issubclass(value, Recommender) and value.__module__ == library.__name__:
            assert f"course_lib.{module}:{name}" in TARGETS, f"course_lib.{module}.{name} is not in bench/models.py"
    for name in ("MostPopularItem", "PopularityDistribution"):
        assert f"course_lib.sequences:{name}" in TARGETS


def test_numpy_and_torch_entries_build():
    pytest.importorskip("torch")
    for name, entry in models.MODELS.items():
        if entry.framework != "tf":
            model = entry.build(seed=3)
            assert hasattr(model, "fit"), name
            assert getattr(model, "seed", 3) == 3, name
            assert getattr(model, "device", None) is None, name  # the library picks the device


def test_hyperparameters_come_from_the_notebooks():
    for stem in models.FALLBACKS:
        values, source = models.notebook_values(stem)
        assert source.startswith(f"{stem}.ipynb") and "bench/models.py" not in source, f"{stem}: {source}"
        assert set(values) == set(models.FALLBACKS[stem])
    assert models.notebook_values("02_autoencoders")[0]["ae_arguments"]["epochs"] > 2  # not QUICK mode


@pytest.fixture(scope="module")
def small():
    return course_lib.make_synthetic(n_users=120, n_items=150, mean_per_user=25, seed=0)


def _check(result):
    assert KEYS <= set(result)
    assert math.isfinite(result["value"]) and result["fit_seconds"] >= 0 and result["evaluate_seconds"] >= 0
    assert all(math.isfinite(v) for v in result["other_metrics"].values())


def test_numpy_protocols_run(small):
    from course_lib.rating_models import GlobalMean
    from course_lib.sequences import PopularityDistribution

    for protocol, factory in (("ranking", course_lib.Popularity), ("retrieval", course_lib.ItemKNN),
                              ("rating", GlobalMean), ("sequence", PopularityDistribution)):
        result = models.PROTOCOLS[protocol](factory, small, 0)
        _check(result)
    assert models.PROTOCOLS["rating"](GlobalMean, small, 0)["metric"] == "rmse"
    assert "recall@100" in models.PROTOCOLS["retrieval"](course_lib.ItemKNN, small, 0)["other_metrics"]


def test_torch_protocols_run(small):
    pytest.importorskip("torch")
    from course_lib.torch import autoencoder, latent_factor, mlp, sequence

    cheap = {
        "ranking_validated": lambda: mlp.GMF(embedding_dim=4, epochs=1, keep_best="metric", show_progress=False),
        "rating_validated": lambda: mlp.ExplicitNCF(embedding_dim=4, hidden_dims=(8,), epochs=1, keep_best="loss",
                                                    show_progress=False),
        "autoencoder": lambda: autoencoder.MultDAE(hidden_dim=8, latent_dim=4, epochs=1, show_progress=False),
        "ranking_new_users": lambda: autoencoder.MultVAE(hidden_dim=8, latent_dim=4, epochs=1, show_progress=False),
        "rating": lambda: latent_factor.BiasOnly(epochs=1),
        "sequence": lambda: sequence.MeanPooling(embedding_dim=8, epochs=1),
    }
    cheap["ranking_refit"] = cheap["ranking_validated"]
    cheap["retrieval_refit"] = cheap["ranking_validated"]
    for protocol, factory in cheap.items():
        _check(models.PROTOCOLS[protocol](factory, small, 0))
    refit = models.PROTOCOLS["retrieval_refit"](cheap["ranking_validated"], small, 0)
    assert "refit on all of train" in refit["protocol"] and "recall@100" in refit["other_metrics"]
    plain = models.PROTOCOLS["sequence"](cheap["sequence"], small, 0)
    validated = models.PROTOCOLS["sequence"](
        lambda: sequence.MeanPooling(embedding_dim=8, epochs=2, keep_best="metric", patience=1, show_progress=False),
        small, 0)
    _check(validated)
    assert "validate" in validated["protocol"] and "validate" not in plain["protocol"]


def test_run_model_and_markdown(small):
    result = models.run_model("Popularity", small, 0)
    assert result["framework"] == "numpy" and result["metric"] == "ndcg@10"
    result["peak_memory_mib"] = 1.0
    text = run_all._markdown("synthetic", "a machine", [result, {"model": "Broken (tf)", "framework": "tf",
                                                                  "error": "ValueError: no"}], [], [])
    assert "| Popularity | numpy | 00 |" in text and "error: ValueError: no" in text
    speed = {"dataset": "synthetic", "repeats": 1, "blas": "", "evaluate_users": 100, "evaluate_seconds": 0.001,
             "evaluate_users_per_second": 100_000.0, "n_items": 150, "ease_fit_seconds": 0.2,
             "bare_inv_seconds": 0.1, "bare_solve_seconds": 0.15, "ease_ratio": 2.0, "ease_ratio_of_best": 2.0}
    lines = "\n".join(run_all._speed_lines(speed))
    assert "| met |" in lines and "| NOT met |" in lines
    with pytest.raises(ValueError, match="Unknown model"):
        models.run_model("NoSuchModel", small, 0)


def test_a_measured_section_is_replaced_and_kept(tmp_path):
    import run_all

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark\n\n## Models\n\nrows\n")
    first = run_all.FRESH_CLONE_HEADING + "\n\nfirst\n"
    run_all._replace_section(results, run_all.FRESH_CLONE_HEADING, first)
    assert results.read_text().endswith(first) and "rows" in results.read_text()
    second = run_all.FRESH_CLONE_HEADING + "\n\nsecond\n"
    run_all._replace_section(results, run_all.FRESH_CLONE_HEADING, second)
    text = results.read_text()
    assert "first" not in text and text.count(run_all.FRESH_CLONE_HEADING) == 1 and "rows" in text
    assert run_all._section(results, run_all.FRESH_CLONE_HEADING) == second


def test_seed_spread_verdicts():
    import seed_spread

    # NDCG: higher is better; the difference of the means against its standard error (Welch)
    assert seed_spread.compare("ndcg@10", [0.40, 0.41, 0.39], [0.36, 0.37, 0.35])[2] == "worse beyond noise"
    assert seed_spread.compare("ndcg@10", [0.40, 0.41, 0.39], [0.401, 0.395, 0.41])[2] == "within noise"
    assert seed_spread.compare("ndcg@10", [0.36, 0.37, 0.35], [0.40, 0.41, 0.39])[2] == "better beyond noise"
    # RMSE: lower is better, so a rise is the bad direction
    difference, z, verdict = seed_spread.compare("rmse", [0.90, 0.91, 0.905], [0.95, 0.96, 0.955])
    assert verdict == "worse beyond noise" and difference > 0 and z > 2
    # identical runs: no spread, no difference
    assert seed_spread.compare("mrr", [0.06, 0.06], [0.06, 0.06])[2] == "within noise"


def test_seed_spread_twin_table():
    import seed_spread

    values = {("A (torch)", "before"): {1: 0.40, 2: 0.41, 3: 0.39}, ("A (tf)", "before"): {1: 0.30, 2: 0.32, 3: 0.29},
              # the seeds move both twins alike: paired, the twins are the same within noise
              ("A (torch)", "after"): {1: 0.40, 2: 0.45, 3: 0.35}, ("A (tf)", "after"): {1: 0.401, 2: 0.448, 3: 0.352},
              ("B (torch)", "after"): {1: 0.2, 2: 0.21}, ("B (tf)", "after"): {1: 0.2, 3: 0.2}}
    lines = seed_spread.twin_lines(values, ["A (torch)", "A (tf)", "B (torch)", "B (tf)", "C (torch)"],
                                   ["before", "after"])
    table = "\n".join(lines)
    assert "| A | +0.0967 (" in table and "differs beyond noise); |gap| 0.0967; 3 seeds | -0.0003 (-0.3, within noise); " \
        "|gap| 0.0017; 3 seeds |" in table
    assert "| B | fewer than two seeds in both | fewer than two seeds in both | fewer than two seeds on both sides |" \
        in table  # only seed 1 in both
    # A's gaps per seed: 0.10, 0.09, 0.10 before; 0.001, 0.002, 0.002 after: 0.095 closer on average
    assert "| -0.0950 (-27.1, closer beyond noise); 3 seeds |" in table
    assert "| C |" not in table  # no twin
    assert seed_spread.twin_lines(values, ["Popularity"], ["after"]) == []
    same = {("D (torch)", "after"): {1: 0.3, 2: 0.3}, ("D (tf)", "after"): {1: 0.3, 2: 0.3}}
    assert "+0.0000 (+0.0, within noise); |gap| 0.0000; 2 seeds" in "\n".join(seed_spread.twin_lines(same, ["D (torch)", "D (tf)"], ["after"]))


def test_seed_spread_needs_two_seeds_and_a_real_checkout(tmp_path, capsys):
    import seed_spread

    with pytest.raises(SystemExit):
        seed_spread.main(["--models", "Popularity", "--seeds", "42"])
    assert "at least two --seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        seed_spread.main(["--models", "Popularity", "--before", str(tmp_path)])
    assert "no bench/run_all.py" in capsys.readouterr().err


def test_scale_table_keeps_the_rows_of_other_runs(tmp_path):
    import scale_benchmark

    output = tmp_path / "SCALE.md"
    scale_benchmark._write(output, "synthetic-ml-1m", {"03_ease_r": "| 03_ease_r | 114 | ran | x | - |"})
    rows = scale_benchmark._kept_rows(output, "synthetic-ml-1m")
    assert list(rows) == ["03_ease_r"]
    rows["01_mlp_basics"] = "| 01_mlp_basics | 810 | ran | y | - |"
    scale_benchmark._write(output, "synthetic-ml-1m", rows)
    table = output.read_text()
    assert table.index("01_mlp_basics") < table.index("03_ease_r") and "114" in table
    assert scale_benchmark._kept_rows(output, "ml-1m") == {}  # another data set's table starts afresh


@pytest.mark.parametrize("body, expected", [
    ("import os\nos._exit(1)", "the kernel died in code cell 2 of 3"),
    ("raise ValueError('no such column: rating')", "failed: ValueError: no such column: rating"),
    ("import time\ntime.sleep(120)", "code cell 2 of 3 ran past 10 s"),
])
def test_scale_run_reports_a_notebook_that_fails_or_dies(tmp_path, body, expected):
    pytest.importorskip("nbclient")  # a Jupyter kernel runner (not in Colab's package set)
    import nbformat
    import scale_benchmark

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("DATASET = 'ml-100k'", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell(body), nbformat.v4.new_code_cell("print('never reached')")]
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(notebook, path)
    seconds, outcome, epochs = scale_benchmark.run(path, "synthetic-ml-1m", timeout=10 if "sleep" in body else 60)
    assert outcome.startswith(expected), outcome
    assert epochs == []


def test_notebook_times_are_replaced_and_the_model_rows_kept(tmp_path):
    results = tmp_path / "RESULTS.md"
    first = [{"notebook": "00_data_and_evaluation", "seconds": 5.0, "ok": True},
             {"notebook": "02_autoencoders", "seconds": 130.0, "ok": True}]
    results.write_text(run_all._markdown("ml-100k", "a machine", [], first, ["## Speed", "", "fast", ""]))
    text = results.read_text()
    assert "| 02_autoencoders | 130.0 | NO | yes |" in text and "## Speed" in text
    again = [{"notebook": "00_data_and_evaluation", "seconds": 6.0, "ok": True},
             {"notebook": "02_autoencoders", "seconds": 110.0, "ok": False}]
    run_all._replace_section(results, "## Notebooks", run_all._notebook_section(again))
    text = results.read_text()
    assert "| 02_autoencoders | 110.0 | yes | FAILED |" in text and "130.0" not in text
    assert text.count("## Notebooks") == 1 and "## Speed\n\nfast" in text and text.startswith("# Benchmark results")


def test_scale_run_leaves_out_the_hidden_tests_only():
    pytest.importorskip("nbgrader")  # its ClearHiddenTests cuts them (not in Colab's package set)
    import scale_benchmark

    source = ("x = answer()\n### BEGIN HIDDEN TESTS\nassert grader_only()\n### END HIDDEN TESTS\n"
              "### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n"
              "    ### BEGIN HIDDEN TESTS\n    assert again()\n    ### END HIDDEN TESTS\nprint(x)")
    assert scale_benchmark.without_hidden_tests(source) == (
        "x = answer()\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\nprint(x)")
    assert scale_benchmark.without_hidden_tests("print(1)\n") == "print(1)\n"
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("DATASET = 'ml-100k'", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_markdown_cell("### BEGIN HIDDEN TESTS\ntext\n### END HIDDEN TESTS\n"),
                      nbformat.v4.new_code_cell(source)]
    prepared = scale_benchmark.with_dataset(notebook, "synthetic-ml-1m")
    assert [c.source for c in prepared.cells][1:] == ["DATASET = 'synthetic-ml-1m'", notebook.cells[1].source,
                                                       scale_benchmark.without_hidden_tests(source)]
    assert "HIDDEN" in notebook.cells[2].source  # the notebook given is not changed


def test_seed_spread_table_only_measures_nothing(tmp_path, monkeypatch):
    """``--table-only`` writes both tables from the stored values; a row with fewer seeds than
    ``--seeds`` uses those it has, and no model is fitted."""
    import json

    import seed_spread

    monkeypatch.setattr(seed_spread, "run_one", lambda *a, **k: pytest.fail("--table-only fitted a model"))
    stored = {f"{model} | {label} | ml-100k | {seed}": {"metric": "ndcg@10", "value": value}
              for model, label, seed, value in [("A (torch)", "before", 1, 0.30), ("A (torch)", "before", 2, 0.32),
                                                ("A (torch)", "before", 3, 0.31), ("A (torch)", "after", 1, 0.33),
                                                ("A (torch)", "after", 2, 0.35), ("A (tf)", "before", 1, 0.31),
                                                ("A (tf)", "before", 2, 0.33), ("A (tf)", "after", 1, 0.33),
                                                ("A (tf)", "after", 2, 0.35)]}
    results, out = tmp_path / "seeds.json", tmp_path / "SEEDS.md"
    results.write_text(json.dumps(stored))
    before = tmp_path / "before"
    (before / "bench").mkdir(parents=True)
    (before / "bench" / "run_all.py").write_text("")
    assert seed_spread.main(["--models", "A (torch)", "A (tf)", "--seeds", "1", "2", "3", "--before", str(before),
                             "--results", str(results), "--out", str(out), "--table-only"]) == 0
    text = out.read_text()
    assert "| A (torch) | ndcg@10 | 0.3100 ± 0.0100 (3) | 0.3400 ± 0.0141 (2) | +0.0300 |" in text
    assert "| A | -0.0100 (-inf, differs beyond noise); |gap| 0.0100; 2 seeds | +0.0000 (+0.0, within noise); " \
        "|gap| 0.0000; 2 seeds |" in text  # seed 3 has no tf value: the pairs are seeds 1 and 2
    assert json.loads(results.read_text()) == stored  # nothing added
    with pytest.raises(SystemExit):
        seed_spread.main(["--models", "A (torch)", "--seeds", "1", "2", "--table-only"])
