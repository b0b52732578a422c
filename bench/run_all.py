"""The course-wide benchmark: every reference model in both frameworks, and every notebook.

    python bench/run_all.py [--dataset ml-100k] [--models PATTERN] [--skip-notebooks]
    make bench [DATASET=ml-1m]

Each model is trained and evaluated in a fresh Python process (so its peak memory is its own) with
the protocol its notebook uses, and one row per model and framework goes to ``bench/RESULTS.md``
with its metrics, fit time, evaluation time and peak memory, beside a plot of accuracy against
fit time (``bench/accuracy_vs_fit_time.png``). Then every solution notebook is executed and its
wall time recorded. The machine the figures came from heads the file.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from models import MODELS, run_model  # noqa: E402


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for package in ("numpy", "scipy", "torch", "tensorflow", "keras"):
        try:
            from importlib.metadata import version

            versions.append(f"{package} {version(package)}")
        except Exception:  # noqa: BLE001
            pass
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; " + ", ".join(versions))


def _child(name: str, dataset: str, seed: int) -> None:
    result = run_model(name, dataset, seed)
    result["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def _run_models(names: list[str], dataset: str, seed: int, timeout: int) -> list[dict]:
    rows = []
    for name in names:
        started = time.perf_counter()
        try:
            process = subprocess.run([sys.executable, __file__, "--one", name, "--dataset", dataset, "--seed", str(seed)],
                                     capture_output=True, text=True, timeout=timeout, cwd=ROOT)
            line = next((x for x in process.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                tail = (process.stderr or process.stdout).strip().splitlines()[-1:] or ["no output"]
                rows.append({"model": name, "error": tail[0][:200]})
            else:
                rows.append(json.loads(line[len("RESULT "):]))
        except subprocess.TimeoutExpired:
            rows.append({"model": name, "error": f"stopped after {timeout} s"})
        print(f"{name}: {time.perf_counter() - started:.1f} s  {rows[-1].get('error', '')}", flush=True)
    return rows


def _run_notebooks(timeout: int) -> list[dict]:
    rows = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            process = subprocess.run(
                [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                 f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", folder, str(path)],
                capture_output=True, text=True, cwd=ROOT)
            seconds = time.perf_counter() - started
        rows.append({"notebook": path.stem, "seconds": seconds, "ok": process.returncode == 0})
        print(f"{path.stem}: {seconds:.1f} s {'ok' if process.returncode == 0 else 'FAILED'}", flush=True)
    return rows


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for row in rows:
        if "error" in row or row.get("metric") != "ndcg@10":
            continue
        marker = {"torch": "o", "tf": "s"}.get(row["framework"], "^")
        ax.scatter(max(row["fit_seconds"], 1e-3), row["value"], marker=marker, s=40)
        ax.annotate(f"{row['model']}", (max(row["fit_seconds"], 1e-3), row["value"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("fit time (s, log scale); circle PyTorch, square TensorFlow, triangle NumPy")
    ax.set_ylabel("NDCG@10")
    ax.set_title("Accuracy against fit time")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _markdown(dataset: str, machine: str, rows: list[dict], notebooks: list[dict], extra: list[str]) -> str:
    lines = [f"# Benchmark results: {dataset}", "", f"Machine: {machine}", "",
             f"Produced by `python bench/run_all.py --dataset {dataset}` (`make bench`) on "
             f"{time.strftime('%Y-%m-%d')}.", "", "## Models", "",
             "| model | framework | protocol | metric | value | other metrics | fit (s) | evaluate (s) | peak memory (MiB) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['model']} | | | | error: {row['error']} | | | | |")
            continue
        others = ", ".join(f"{k} {v:.4f}" for k, v in row.get("other_metrics", {}).items())
        lines.append(f"| {row['model']} | {row['framework']} | {row['protocol']} | {row['metric']} | "
                     f"{row['value']:.4f} | {others} | {row['fit_seconds']:.2f} | {row['evaluate_seconds']:.2f} | "
                     f"{row['peak_memory_mib']:.0f} |")
    lines += ["", "![accuracy against fit time](accuracy_vs_fit_time.png)", ""]
    if notebooks:
        total = sum(n["seconds"] for n in notebooks)
        lines += ["## Notebooks", "", "Wall time of `jupyter nbconvert --execute` on each solution notebook "
                  "(kernel start included). Budget: 120 s each, 12 minutes in all.", "",
                  "| notebook | seconds | within 120 s | ran |", "| --- | --- | --- | --- |"]
        for notebook in notebooks:
            lines.append(f"| {notebook['notebook']} | {notebook['seconds']:.1f} | "
                         f"{'yes' if notebook['seconds'] <= 120 else 'NO'} | {'yes' if notebook['ok'] else 'FAILED'} |")
        lines += [f"| **all** | **{total:.1f}** | {'yes' if total <= 720 else 'NO'} (12 min) | |", ""]
    lines += extra
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=os.environ.get("DATASET") or "ml-100k")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--models", default="*", help="glob over model names, e.g. 'BPR*'")
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per model or notebook")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    arguments = parser.parse_args()
    if arguments.one:
        _child(arguments.one, arguments.dataset, arguments.seed)
        return
    names = [name for name in MODELS if fnmatch.fnmatch(name, arguments.models)]
    rows = _run_models(names, arguments.dataset, arguments.seed, arguments.timeout)
    notebooks = [] if arguments.skip_notebooks else _run_notebooks(arguments.timeout)
    _plot(rows, arguments.out.parent / "accuracy_vs_fit_time.png")
    text = _markdown(arguments.dataset, _machine(), rows, notebooks, [])
    temporary = arguments.out.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, arguments.out)
    print(f"wrote {arguments.out}")


if __name__ == "__main__":
    main()
