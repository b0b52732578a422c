"""The models of the benchmark, each with the protocol and the hyperparameters of its notebook.

A protocol loads the data set, splits it as the notebook does, fits the model (timed) and
evaluates it (timed); every protocol returns the same dict (``protocol``, ``metric``, ``value``,
``other_metrics``, ``fit_seconds``, ``evaluate_seconds``). Every entry of ``MODELS`` is a
``Model``: its framework (numpy, torch or tf), protocol, class (``"module:Class"``), the
notebook it comes from and its constructor arguments, a function of that notebook's values.

The hyperparameters are read from the solution notebooks at run time (``notebook_values``): the
``parameters`` cell is executed with ``QUICK = False``, then every top-level ``name = dict(...)``
of the code cells is evaluated with those parameters (nothing else of the notebook runs). So
the bench follows a notebook that is retuned. Where a notebook or a name cannot be read, the
hard-coded copy in ``FALLBACKS`` is used and the row says so (``arguments_from``). The Mult-VAE
and Mult-DAE arguments are notebook 02's ``ae_arguments`` (fallback: ``AE_ARGUMENTS`` below).
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import course_lib
from course_lib import metrics

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "solutions"

# --------------------------------------------------------------------------- the notebooks' values
# Hard-coded copies of the values the entries below use, taken from the solution notebooks (not
# QUICK mode). Used only where the notebook cannot be read; edit the notebook, not these.
# Notebook 02's Mult-VAE and Mult-DAE arguments: the notebook's dict named by the first of
# AE_NOTEBOOK_DICTS it defines (its reworked version calls it ``regularized``), else AE_ARGUMENTS.
# With keep_best / patience in them the models fit 90% of the training part and validate on the
# rest; without, they fit the whole training part (protocol "autoencoder"). MULTDAE_ARGUMENTS
# overrides some of them for Mult-DAE (the reworked notebook uses dropout=0.2 there).
AE_ARGUMENTS = dict(hidden_dim=600, latent_dim=200, batch_size=64, epochs=40, seed=42, learning_rate=1e-2,
                    scheduler="cosine", l2=0.01, dropout=0.0)
AE_NOTEBOOK_DICTS = ("ae_arguments", "regularized")
MULTDAE_ARGUMENTS: dict[str, Any] = {"dropout": 0.2}
ALIASES = {("02_autoencoders", "ae_arguments"): AE_NOTEBOOK_DICTS[1:]}
FALLBACKS: dict[str, dict[str, Any]] = {
    "01_mlp_basics": {
        "rating_arguments": dict(embedding_dim=32, hidden_dims=(64, 32), dropout=0.1, l2=1e-6, optimizer="adam",
                                 learning_rate=3e-3, scheduler="cosine", epochs=6, batch_size=1024,
                                 keep_best="loss", seed=42),
        "ncf_arguments": dict(embedding_dim=32, n_negatives=4, learning_rate=3e-3, batch_size=4096, epochs=6,
                              keep_best="metric", seed=42),
    },
    "02_autoencoders": {
        "dae_arguments": dict(hidden_dim=200, latent_dim=100, learning_rate=1e-2, batch_size=64, epochs=20, seed=42),
        "ae_arguments": AE_ARGUMENTS,
    },
    "03_ease_r": {"L2": 500.0},
    "04_two_tower": {
        "pointwise": dict(embedding_dim=32, hidden_dims=(64, 32), n_negatives=4, epochs=8, batch_size=2048,
                          learning_rate=0.01, keep_best="metric", patience=2, seed=42),
        "retrieval": dict(embedding_dim=32, feature_dim=8, hidden_dim=128, output_dim=64, temperature=0.1,
                          item_id_dropout=0.2, epochs=8, batch_size=1024, learning_rate=0.005, scheduler="cosine",
                          keep_best="metric", patience=2, seed=42),
    },
    "05_graph_models": {
        "shared": dict(embedding_dim=64, batch_size=8192, epochs=60, keep_best="metric", patience=10,
                       validation_metric="ndcg@20", seed=42),
        "N_LAYERS": 3, "LEARNING_RATE": 5e-2, "L2": 2e-3, "MF_LEARNING_RATE": 1e-2, "MF_L2": 3e-2,
        "GFCF_COMPONENTS": 64, "GFCF_WEIGHT": 0.3,
    },
    "06_latent_factors": {
        "settings": dict(epochs=40, batch_size=1024, learning_rate=0.005, l2=0.1, seed=42),
        "EMBEDDING_DIM": 32, "PATIENCE": 3,
    },
    "07_bpr": {"settings": dict(embedding_dim=64, epochs=60, batch_size=4096, learning_rate=0.01, l2=0.01, seed=42),
               "PATIENCE": 20},
    "08_sequence_models": {
        "settings": dict(embedding_dim=64, epochs=6, batch_size=512, learning_rate=0.01, keep_best="metric",
                         patience=2, seed=42, show_progress=False),
        "MAX_LENGTH": 10, "TEST_FRACTION": 0.2, "VALIDATION_FRACTION": 0.1,
    },
}
_SAFE_BUILTINS = {"dict": dict, "tuple": tuple, "list": list, "min": min, "max": max, "range": range,
                  "True": True, "False": False, "None": None}


def _code(cell: dict) -> str:
    source = "".join(cell["source"])
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def read_notebook(stem: str) -> dict[str, Any]:
    """The parameters (``QUICK = False``) and the top-level ``name = dict(...)`` values of a solution notebook."""
    cells = [c for c in json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text())["cells"] if c["cell_type"] == "code"]
    values: dict[str, Any] = {}
    for cell in cells:
        if "parameters" in cell["metadata"].get("tags", []):
            exec(compile(_code(cell), f"{stem}:parameters", "exec"), {"__builtins__": _SAFE_BUILTINS}, values)  # noqa: S102
    values["QUICK"] = False
    for cell in cells:
        try:
            tree = ast.parse(_code(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            value = node.value
            if isinstance(value, ast.Dict) or (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                                               and value.func.id == "dict"):
                try:
                    values[node.targets[0].id] = eval(compile(ast.Expression(value), stem, "eval"),  # noqa: S307
                                                      {"__builtins__": _SAFE_BUILTINS}, dict(values))
                except Exception:  # noqa: BLE001 - a dict that needs the notebook's state: not ours
                    pass
    return values


@functools.cache
def notebook_values(stem: str) -> tuple[dict[str, Any], str]:
    """The values of ``FALLBACKS[stem]`` as the notebook has them now, and where they came from."""
    fallback = FALLBACKS[stem]
    try:
        found = read_notebook(stem)
    except Exception as error:  # noqa: BLE001
        return dict(fallback), f"bench/models.py ({stem}.ipynb unreadable: {type(error).__name__})"
    values, notes, missing = {}, [], []
    for name, default in fallback.items():
        present = [alias for alias in (name, *ALIASES.get((stem, name), ())) if alias in found]
        if present and present[0] != name:
            notes.append(f"{present[0]} for {name}")
        elif not present:
            missing.append(name)
        values[name] = found[present[0]] if present else default
    notes += [f"bench/models.py for {name}" for name in missing]
    return values, f"{stem}.ipynb" + (f" ({'; '.join(notes)})" if notes else "")


# --------------------------------------------------------------------------- the protocols
def _load(dataset: Any) -> course_lib.Interactions:
    return dataset if isinstance(dataset, course_lib.Interactions) else course_lib.load_dataset(dataset)


def _fit(model: Any, train: Any, validation: Any = None) -> float:
    """Fit without a progress bar (every trained model's ``fit`` takes ``show_progress``); the seconds."""
    import inspect

    parameters = inspect.signature(model.fit).parameters
    arguments = {"show_progress": False} if "show_progress" in parameters else {}
    if validation is not None:
        arguments["validation"] = validation
    started = time.perf_counter()
    model.fit(train, **arguments)
    return time.perf_counter() - started


def _fit_part(model: Any, train: Any, seed: int, validate: bool, refit: bool = False) -> tuple[float, bool]:
    """Fit ``train``, or with ``validate`` 90% of it with the other 10% as validation; (seconds, validated).
    ``refit`` (notebooks 04's retrieval, 05, 06 and 07): then fit all of ``train`` for the best epoch's number of epochs."""
    if not validate:
        return _fit(model, train), False
    fit_part, validation = course_lib.random_split(train, test_fraction=0.1, seed=seed)
    seconds = _fit(model, fit_part, validation)
    if refit:
        model.epochs, model.patience, model.keep_best = model.best_epoch_, None, None
        seconds += _fit(model, train)
    return seconds, True


def _top_k(model: Any, train: Any, test: Any, cutoffs: tuple[int, ...] = (10,)) -> tuple[dict, float]:
    started = time.perf_counter()
    result = course_lib.evaluate(model, train, test, cutoffs=cutoffs)
    seconds = time.perf_counter() - started
    row = result.loc[10]
    others = {"recall@10": float(row["recall"]), "hit_rate@10": float(row["hit_rate"]),
              "coverage@10": float(row["coverage"])}
    for k in cutoffs[1:]:
        others[f"recall@{k}"] = float(result.loc[k, "recall"])
    return {"metric": "ndcg@10", "value": float(row["ndcg"]), "other_metrics": others}, seconds


_VALIDATES = ", 10% of train validates"
_REFITS = ", 10% of train picks the epochs, refit on all of train"


def _ranking(factory: Callable, dataset: Any, seed: int, validate: bool | None = False,
             cutoffs: tuple[int, ...] = (10,), refit: bool = False) -> dict:
    """Global random 80/20, all ratings positive, training items excluded, top-10 (and recall at the
    other ``cutoffs``: notebook 04's retrieval). ``validate=True`` (notebook 01): the model fits 90% of
    the training part and keeps its best epoch on the rest; ``None`` (notebooks 02, 04): it validates when
    its arguments ask for it (``keep_best`` / ``patience``). Users are scored from the whole training
    part (autoencoders: ``fold_in(train)``)."""
    train, test = course_lib.random_split(_load(dataset), test_fraction=0.2, seed=seed)
    model = factory()
    fit_seconds, validated = _fit_part(model, train, seed, _validates(model) if validate is None else validate, refit)
    scorer = model.fold_in(train) if hasattr(model, "fold_in") else model
    result, evaluate_seconds = _top_k(scorer, train, test, cutoffs)
    extra = " and recall@100" if 100 in cutoffs else ""
    validates = (_REFITS if refit else _VALIDATES) if validated else ""
    return {"protocol": f"random 80/20{validates}, top-10{extra}", **result,
            "fit_seconds": fit_seconds, "evaluate_seconds": evaluate_seconds}


def _validates(model: Any) -> bool:
    return getattr(model, "keep_best", None) is not None or getattr(model, "patience", None) is not None


def _ranking_new_users(factory: Callable, dataset: Any, seed: int) -> dict:
    """Notebook 02, strong generalization: 20% of the users are held out; the model fits the others
    (10% of their interactions validate, if its arguments ask for it) and scores each held-out user
    from 80% of the user's interactions (``fold_in``), evaluated on the rest."""
    data = _load(dataset)
    train, fold_in, test = course_lib.user_split(data, test_fraction=0.2, fold_in_fraction=0.8, seed=seed)
    model = factory()
    fit_seconds, _ = _fit_part(model, train, seed, _validates(model))
    result, evaluate_seconds = _top_k(model.fold_in(fold_in), fold_in, test)
    return {"protocol": "20% of users held out, 80% of each folded in, top-10", **result,
            "fit_seconds": fit_seconds, "evaluate_seconds": evaluate_seconds}


def _rating(factory: Callable, dataset: Any, seed: int, validate: bool = False, refit: bool = False) -> dict:
    """Random 80/20 of the ratings, RMSE and MAE of the predicted test ratings (notebook 06);
    ``validate=True`` (notebook 01): fits 90% of the training ratings, best epoch by the other 10%."""
    train, test = course_lib.random_split(_load(dataset), test_fraction=0.2, seed=seed)
    model = factory()
    fit_seconds, validated = _fit_part(model, train, seed, validate, refit)
    started = time.perf_counter()
    predictions = model.predict(test.users, test.items)
    evaluate_seconds = time.perf_counter() - started
    validates = (_REFITS if refit else _VALIDATES) if validated else ""
    return {"protocol": f"random 80/20{validates}, test RMSE", "metric": "rmse",
            "value": metrics.rmse(test.ratings, predictions),
            "other_metrics": {"mae": metrics.mae(test.ratings, predictions)},
            "fit_seconds": fit_seconds, "evaluate_seconds": evaluate_seconds}


def _sequence(factory: Callable, dataset: Any, seed: int) -> dict:
    """Notebook 08: sequences of ``MAX_LENGTH`` items split by user; MRR and hit rate at 10 of the
    last item of each test sequence over the full catalogue. A model that asks for validation
    (``keep_best`` / ``patience``) fits the sequences of ``1 - VALIDATION_FRACTION`` of the training
    users and validates on the others', as the notebook does."""
    from course_lib.sequences import evaluate_next_item, sequence_split, split_sequences

    values, _ = notebook_values("08_sequence_models")
    train, test = sequence_split(_load(dataset), max_length=values["MAX_LENGTH"],
                                 test_fraction=values["TEST_FRACTION"], seed=seed)
    model = factory()
    validated = _validates(model)
    if validated:
        fit_part, validation = split_sequences(train, test_fraction=values["VALIDATION_FRACTION"], seed=seed)
        fit_seconds = _fit(model, fit_part, validation)
    else:
        fit_seconds = _fit(model, train)
    started = time.perf_counter()
    result = evaluate_next_item(model, test)
    evaluate_seconds = time.perf_counter() - started
    protocol = f"sequences of {values['MAX_LENGTH']}, user split{', 10% of train users validate' if validated else ''}"
    return {"protocol": f"{protocol}, next item", "metric": "mrr",
            "value": result["mrr"], "other_metrics": {k: v for k, v in result.items() if k != "mrr"},
            "fit_seconds": fit_seconds, "evaluate_seconds": evaluate_seconds}


PROTOCOLS: dict[str, Callable[[Callable, Any, int], dict]] = {
    "ranking": _ranking, "ranking_validated": functools.partial(_ranking, validate=True),
    "autoencoder": functools.partial(_ranking, validate=None), "ranking_new_users": _ranking_new_users,
    "retrieval": functools.partial(_ranking, validate=None, cutoffs=(10, 50, 100)),
    "retrieval_refit": functools.partial(_ranking, validate=True, cutoffs=(10, 50, 100), refit=True),
    "rating": _rating, "rating_validated": functools.partial(_rating, validate=True), "sequence": _sequence,
    "ranking_refit": functools.partial(_ranking, validate=True, refit=True),
    "rating_refit": functools.partial(_rating, validate=True, refit=True),
}


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Model:
    """One row of the benchmark: ``target`` is ``"module:Class"``; ``arguments(values)`` gives the
    constructor's arguments from the notebook's values (``seed`` is replaced by the bench's seed,
    ``device`` dropped so the library picks the accelerator)."""

    framework: str
    protocol: str
    target: str
    notebook: str | None = None
    arguments: Callable[[dict], dict] = field(default=lambda values: {})
    torch_threads: int | None = None  # the notebook's torch.set_num_threads

    def build(self, seed: int) -> Any:
        module, name = self.target.split(":")
        values = notebook_values(self.notebook)[0] if self.notebook else {}
        arguments = dict(self.arguments(values))
        arguments.pop("device", None)
        if "seed" in arguments:
            arguments["seed"] = seed
        return getattr(importlib.import_module(module), name)(**arguments)


def _twins(name: str, protocol: str, module: str, notebook: str, arguments: Callable[[dict], dict],
           torch_threads: int | None = None, cls: str | None = None) -> dict[str, Model]:
    return {f"{name} ({framework})": Model(framework, protocol, f"course_lib.{framework}.{module}:{cls or name}",
                                           notebook, arguments, torch_threads if framework == "torch" else None)
            for framework in ("torch", "tf")}


def _with(key: str, **extra: Any) -> Callable[[dict], dict]:
    return lambda values: {**values[key], **extra}


MODELS: dict[str, Model] = {
    # notebook 00: the baselines
    "Random": Model("numpy", "ranking", "course_lib.baselines:Random", arguments=lambda v: {"seed": 42}),
    "Popularity": Model("numpy", "ranking", "course_lib.baselines:Popularity"),
    "ItemKNN": Model("numpy", "ranking", "course_lib.baselines:ItemKNN",
                     arguments=lambda v: {"n_neighbors": 100, "shrinkage": 10}),
    # notebook 01: MLPs, NCF
    **_twins("ExplicitNCF", "rating_validated", "mlp", "01_mlp_basics", _with("rating_arguments"), 1),
    **_twins("GMF", "ranking_validated", "mlp", "01_mlp_basics", _with("ncf_arguments"), 1),
    **_twins("MLP", "ranking_validated", "mlp", "01_mlp_basics", _with("ncf_arguments", hidden_dims=(64, 32, 16)), 1),
    **_twins("NeuMF", "ranking_validated", "mlp", "01_mlp_basics", _with("ncf_arguments", hidden_dims=(64, 32, 16)), 1),
    **_twins("HybridNeuMF", "ranking_validated", "mlp", "01_mlp_basics",
             _with("ncf_arguments", hidden_dims=(64, 32, 16)), 1),
    # notebook 02: autoencoders (it leaves PyTorch's thread count to course_lib.torch)
    **_twins("DenoisingAutoencoder", "ranking", "autoencoder", "02_autoencoders", _with("dae_arguments", dropout=0.5)),
    **_twins("MultDAE", "autoencoder", "autoencoder", "02_autoencoders", _with("ae_arguments", **MULTDAE_ARGUMENTS)),
    **_twins("MultVAE", "autoencoder", "autoencoder", "02_autoencoders", _with("ae_arguments")),
    **_twins("MultVAE, new users", "ranking_new_users", "autoencoder", "02_autoencoders", _with("ae_arguments"),
             cls="MultVAE"),
    # notebook 03: EASE in closed form
    "EASE (numpy)": Model("numpy", "ranking", "course_lib.closed_form:EASE", "03_ease_r",
                          lambda v: {"l2": v["L2"]}),
    **_twins("EASE", "ranking", "ease", "03_ease_r", lambda v: {"l2": v["L2"]}),
    # notebook 04: two towers
    **_twins("ConcatMLP", "retrieval", "two_tower_pointwise", "04_two_tower", _with("pointwise")),
    **_twins("TwoTowerMLP", "retrieval", "two_tower_pointwise", "04_two_tower", _with("pointwise")),
    **_twins("TwoTowerRetrieval", "retrieval_refit", "two_tower_retrieval", "04_two_tower", _with("retrieval")),
    # notebook 05: graphs
    **_twins("LightGCN", "ranking_refit", "graph", "05_graph_models",
             lambda v: {**v["shared"], "n_layers": v["N_LAYERS"], "learning_rate": v["LEARNING_RATE"],
                        "l2": v["L2"]}, 1),
    **_twins("LightGCN K=0", "ranking_refit", "graph", "05_graph_models",
             lambda v: {**v["shared"], "n_layers": 0, "learning_rate": v["MF_LEARNING_RATE"],
                        "l2": v["MF_L2"]}, 1, cls="LightGCN"),
    "GFCF": Model("numpy", "ranking", "course_lib.closed_form:GFCF", "05_graph_models",
                  lambda v: {"n_components": v["GFCF_COMPONENTS"], "ideal_filter_weight": v["GFCF_WEIGHT"], "seed": 42}),
    # notebook 06: rating prediction
    "GlobalMean": Model("numpy", "rating", "course_lib.rating_models:GlobalMean", "06_latent_factors"),
    **_twins("BiasOnly", "rating_refit", "latent_factor", "06_latent_factors",
             lambda v: {**v["settings"], "patience": v["PATIENCE"], "keep_best": "metric"}, 1),
    **_twins("LatentFactor", "rating_refit", "latent_factor", "06_latent_factors",
             lambda v: {"embedding_dim": v["EMBEDDING_DIM"], **v["settings"], "patience": v["PATIENCE"],
                        "keep_best": "metric"}, 1),
    # notebook 07: BPR
    **_twins("BPRMF", "ranking_refit", "bpr", "07_bpr",
             lambda v: {**v["settings"], "patience": v["PATIENCE"], "keep_best": "metric"}),
    # notebook 08: sequences
    "MostPopularItem": Model("numpy", "sequence", "course_lib.sequences:MostPopularItem", "08_sequence_models"),
    "PopularityDistribution": Model("numpy", "sequence", "course_lib.sequences:PopularityDistribution",
                                    "08_sequence_models"),
    **_twins("MeanPooling", "sequence", "sequence", "08_sequence_models", _with("settings"), 1),
    **_twins("GRURecommender", "sequence", "sequence", "08_sequence_models", _with("settings"), 1),
    **_twins("SelfAttention", "sequence", "sequence", "08_sequence_models", _with("settings", n_blocks=1), 1),
}


def run_model(name: str, dataset: str, seed: int) -> dict:
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; the benchmark knows {sorted(MODELS)}.")
    entry = MODELS[name]
    if entry.torch_threads:
        import torch

        torch.set_num_threads(entry.torch_threads)
    course_lib.seed_everything(seed)
    result = PROTOCOLS[entry.protocol](lambda: entry.build(seed), dataset, seed)
    result.update(model=name, framework=entry.framework, notebook=entry.notebook or "00_data_and_evaluation",
                  arguments_from=notebook_values(entry.notebook)[1] if entry.notebook else "bench/models.py")
    result["value"] = float(result["value"])
    result["other_metrics"] = {k: float(v) for k, v in result["other_metrics"].items()}
    return result

