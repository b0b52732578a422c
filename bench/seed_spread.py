"""How much a benchmark row moves with the seed, and whether a change moved it by more than that.

    python bench/seed_spread.py --models "NeuMF (torch)" "BPRMF (tf)" --seeds 42 1 2 3 4
    python bench/seed_spread.py --models "NeuMF (torch)" --before /path/to/old/checkout

Each model of ``bench/run_all.py``'s registry is trained and evaluated once per seed, each in a
fresh process (``run_all.py --one``), with its notebook's protocol; the seed moves the split, the
initial weights and the batches. With ``--before`` (a checkout of an older commit with the course
installed in its ``.venv``, or ``--before-python``), the same models and seeds run there too, and
the table sets the two side by side: mean and standard deviation over the seeds, the difference
of the means, and that difference in standard errors (Welch). A row is "worse beyond noise" when
the mean got worse by more than two standard errors of the difference. Nothing is asserted; the
table goes to stdout and to ``--out`` (default ``bench/SEEDS.md``). With ``--results FILE`` every
value is also kept in that JSON file as it comes, and a later run reuses the ones there (runs that
were stopped resume; ``--only before`` measures the old commit first, while the new one is unfinished).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOWER_IS_BETTER = ("rmse", "mae")


def run_one(tree: Path, python: str, model: str, seed: int, dataset: str, timeout: int) -> dict:
    """One RESULT of ``run_all.py --one`` in ``tree`` (its metric and value), or an ``error``."""
    command = [python, str(tree / "bench" / "run_all.py"), "--one", model, "--dataset", dataset, "--seed", str(seed)]
    # the checkout's own course_lib first, whatever the interpreter has installed (an editable
    # install of another checkout would otherwise be imported)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    try:
        process = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tree, env=environment)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout} s"}
    line = next((x for x in process.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        lines = (process.stderr or process.stdout or "no output").strip().splitlines()
        return {"error": lines[-1][:200] if lines else "no output"}
    return json.loads(line[len("RESULT "):])


def _commit(tree: Path) -> str:
    process = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return process.stdout.strip() or "unknown"


def spread(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def compare(metric: str, before: list[float], after: list[float]) -> tuple[float, float, str]:
    """(after - before of the means, in standard errors, verdict)."""
    (mean_before, sd_before), (mean_after, sd_after) = spread(before), spread(after)
    difference = mean_after - mean_before
    error = math.sqrt(sd_before**2 / len(before) + sd_after**2 / len(after))
    if error > 0:
        z = difference / error
    else:  # no spread at all: any difference is beyond it
        z = math.copysign(math.inf, difference) if difference else 0.0
    worse = -z if metric not in LOWER_IS_BETTER else z
    verdict = "worse beyond noise" if worse > 2 else "better beyond noise" if worse < -2 else "within noise"
    return difference, z, verdict


def twin_lines(values: dict[tuple[str, str], dict[int, float]], models: list[str], labels: list[str]) -> list[str]:
    """A table of each twin pair among ``models`` (``X (torch)`` and ``X (tf)``) from their values by seed:
    the mean over the seeds both ran of torch - tf, on each side, and that mean in standard errors of the
    paired differences (the same seed gives both twins the same split, so the pairs share that noise),
    and the mean over the seeds of |torch - tf|, how far apart the twins land on one seed.
    A pair "differs beyond noise" on a side when the mean difference is more than two standard errors.
    With two sides, a last column compares the gaps seed by seed: the mean of after - before of |torch - tf|
    over the seeds both sides ran, "closer" or "further apart" beyond two standard errors."""
    lines = []
    for model in models:
        twin = model.replace(" (torch)", " (tf)")
        if not model.endswith(" (torch)") or twin not in models:
            continue
        cells, gaps = [], []
        for label in labels:
            torch_values, tf_values = values.get((model, label), {}), values.get((twin, label), {})
            differences = [torch_values[seed] - tf_values[seed] for seed in torch_values if seed in tf_values]
            gaps.append({seed: abs(torch_values[seed] - tf_values[seed]) for seed in torch_values if seed in tf_values})
            if len(differences) < 2:
                cells.append("fewer than two seeds in both")
                continue
            mean, z = _paired(differences)
            gap = statistics.fmean(abs(d) for d in differences)
            cells.append(f"{mean:+.4f} ({z:+.1f}, {'differs beyond noise' if abs(z) > 2 else 'within noise'}); "
                         f"|gap| {gap:.4f}; {len(differences)} seeds")
        if len(labels) == 2:
            cells.append(_gap_change(*gaps))
        lines.append(f"| {model.removesuffix(' (torch)')} | " + " | ".join(cells) + " |")
    if not lines:
        return []
    header = " | ".join(f"{label}: torch - tf (standard errors); mean abs(torch - tf)" for label in labels)
    if len(labels) == 2:
        header += f" | |gap| {labels[1]} - {labels[0]}, seed by seed (standard errors)"
    columns = len(labels) + (len(labels) == 2)
    return ["", "Twins: each seed run in both frameworks; the mean of the paired differences torch - tf, and "
            "the mean of their absolute values (|gap|: how far apart one seed's twins land).", "",
            f"| pair | {header} |", "| --- |" + " --- |" * columns, *lines]


def _paired(differences: list[float]) -> tuple[float, float]:
    """(mean, mean in standard errors) of paired differences; no spread: any difference is beyond it."""
    mean, sd = spread(differences)
    if sd > 0:
        return mean, mean / (sd / math.sqrt(len(differences)))
    return mean, math.copysign(math.inf, mean) if mean else 0.0


def _gap_change(before: dict[int, float], after: dict[int, float]) -> str:
    """after - before of one pair's |torch - tf|, paired by seed, with its verdict."""
    changes = [after[seed] - before[seed] for seed in before if seed in after]
    if len(changes) < 2:
        return "fewer than two seeds on both sides"
    mean, z = _paired(changes)
    verdict = "closer beyond noise" if z < -2 else "further apart beyond noise" if z > 2 else "within noise"
    return f"{mean:+.4f} ({z:+.1f}, {verdict}); {len(changes)} seeds"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help="names as `run_all.py --list` prints them")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 1, 2, 3, 4])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--before", type=Path, help="a checkout of the older commit to compare with")
    parser.add_argument("--before-python", help="its Python (default: BEFORE/.venv/bin/python)")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "SEEDS.md")
    parser.add_argument("--results", type=Path, help="JSON file of the values measured so far (read, then extended)")
    parser.add_argument("--only", choices=("before", "after"), help="measure one side only (the table is still written)")
    parser.add_argument("--table-only", action="store_true",
                        help="measure nothing: the tables from the values of --results (rows may have fewer seeds)")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("give at least two --seeds: one seed says nothing about the noise")
    if args.table_only and not args.results:
        parser.error("--table-only reads the values of --results: give that file")
    trees = {"after": (ROOT, sys.executable)}
    if args.before:
        before = args.before.resolve()
        if not (before / "bench" / "run_all.py").exists():
            parser.error(f"--before {before} has no bench/run_all.py: give a checkout of this repository")
        trees = {"before": (before, args.before_python or str(before / ".venv" / "bin" / "python")), **trees}
    stored = json.loads(args.results.read_text()) if args.results and args.results.exists() else {}
    for model in args.models:
        for label, (tree, python) in trees.items():
            for seed in args.seeds:
                key = f"{model} | {label} | {args.dataset} | {seed}"
                if key in stored or (args.only and label != args.only) or args.table_only:
                    continue
                started = time.perf_counter()
                result = run_one(tree, python, model, seed, args.dataset, args.timeout)
                if "error" in result:
                    print(f"{model} [{label}] seed {seed}: {result['error']}", flush=True)
                    continue
                stored[key] = {"metric": result["metric"], "value": result["value"]}
                if args.results:
                    temporary = args.results.with_suffix(".tmp")
                    temporary.write_text(json.dumps(stored, indent=1))
                    temporary.replace(args.results)
                print(f"{model} [{label}] seed {seed}: {result['metric']} {result['value']:.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    by_seed: dict[tuple[str, str], dict[int, float]] = {}
    metrics: dict[str, str] = {}
    for model in args.models:
        for label in trees:
            for seed in args.seeds:
                found = stored.get(f"{model} | {label} | {args.dataset} | {seed}")
                if found:
                    metrics[model] = found["metric"]
                    by_seed.setdefault((model, label), {})[seed] = found["value"]
    values = {key: list(by_value.values()) for key, by_value in by_seed.items()}  # in the order of --seeds
    seeds = " ".join(map(str, args.seeds))
    lines = [f"# Seed spread on `{args.dataset}`", "",
             f"Command: `python bench/seed_spread.py --seeds {seeds}"
             + (" --before <checkout>" if args.before else "") + "`, run on "
             + time.strftime("%Y-%m-%d") + ". Each value is one fit in a fresh process with its notebook's "
             "protocol; the seed moves the split, the initial weights and the batches."
             + "".join(f" {label}: commit {_commit(tree)}." for label, (tree, _) in trees.items()), ""]
    if args.before:
        lines += ["| model | metric | before: mean ± sd (seeds) | after: mean ± sd (seeds) | after - before | in standard errors | verdict |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
    else:
        lines += ["| model | metric | mean ± sd (seeds) | values |", "| --- | --- | --- | --- |"]
    for model in args.models:
        after = values.get((model, "after"), [])
        if len(after) < 2:
            lines.append(f"| {model} | - | fewer than two runs succeeded | |")
            continue
        mean, sd = spread(after)
        if not args.before:
            lines.append(f"| {model} | {metrics[model]} | {mean:.4f} ± {sd:.4f} ({len(after)}) | "
                         + ", ".join(f"{v:.4f}" for v in after) + " |")
            continue
        before = values.get((model, "before"), [])
        if len(before) < 2:
            lines.append(f"| {model} | {metrics[model]} | fewer than two runs | {mean:.4f} ± {sd:.4f} | | | |")
            continue
        difference, z, verdict = compare(metrics[model], before, after)
        mean_before, sd_before = spread(before)
        lines.append(f"| {model} | {metrics[model]} | {mean_before:.4f} ± {sd_before:.4f} ({len(before)}) | "
                     f"{mean:.4f} ± {sd:.4f} ({len(after)}) | "
                     f"{difference:+.4f} | {z:+.1f} | {verdict} |")
    lines += twin_lines(by_seed, args.models, list(trees))
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
