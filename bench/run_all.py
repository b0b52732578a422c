"""The course-wide benchmark: every reference model in both frameworks, and every notebook.

    python bench/run_all.py [--dataset ml-100k] [--models PATTERN] [--skip-notebooks] [--skip-speed]
    python bench/run_all.py --list
    make bench [DATASET=ml-1m]

Each model is trained and evaluated in a fresh Python process (so its peak memory is its own) with
the protocol its notebook uses, and one row per model and framework goes to ``bench/RESULTS.md``
with its metrics, fit time, evaluation time and peak memory, beside a plot of accuracy against
fit time (``bench/accuracy_vs_fit_time.png``). Then every solution notebook is executed and its
wall time recorded. A speed section, measured in its own process in the same run, checks the
throughput of `evaluate` on a dense score matrix and EASE's fit against a bare NumPy solve of
the same system. The machine the figures came from and the command head the file.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from models import MODELS, run_model  # noqa: E402

EVALUATE_TARGET = 20_000   # users per second of `evaluate` on a dense score matrix (issue 8)
EASE_TARGET = 1.2          # EASE's fit time over a bare NumPy solve of the same system (issue 8)


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
    gpu = ""
    try:
        names = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                               text=True, timeout=30).stdout.split("\n")
        gpu = ", ".join(name.strip() for name in names if name.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB" + (f", GPU {gpu}" if gpu else ", no GPU") +
            f", {platform.system()} {platform.release()}, Python {platform.python_version()}; " + ", ".join(versions))


def _child(name: str, dataset: str, seed: int) -> None:
    result = run_model(name, dataset, seed)
    result["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def _error_line(process: subprocess.CompletedProcess) -> str:
    """The exception line of a failed child's traceback (else its last line), shortened."""
    lines = (process.stderr or process.stdout or "").strip().splitlines()
    found = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line)]
    return ((found or lines or ["no output"])[-1]).strip()[:300]


def _speed_child(dataset: str, seed: int, repeats: int) -> None:
    """The speed checks of issue 8, best of ``repeats`` runs each (this machine may be shared)."""
    import numpy as np
    from evaluation_benchmark import DenseScores, best_time
    from threadpoolctl import threadpool_info

    import course_lib
    from course_lib.closed_form import EASE, ease_inputs

    data = course_lib.load_dataset(dataset)
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=seed)
    scores = np.random.default_rng(seed).random(data.shape, dtype=np.float32)
    dense = DenseScores(scores)
    course_lib.evaluate(dense, train, test, cutoffs=10)  # warm-up
    seconds, result = best_time(lambda: course_lib.evaluate(dense, train, test, cutoffs=10), repeats)
    users = int(result.attrs["n_users_evaluated"])

    # EASE against a bare NumPy inverse and solve of the same (I, I) system, alternated so that a busy
    # moment of the shared machine hits both; one process, so the same BLAS threads. The ratio is the
    # median over the repeats of EASE's fit over the faster bare solve next to it.
    l2 = 500.0
    _, gram = ease_inputs(train)
    system = gram + l2 * np.eye(data.n_items)
    identity = np.eye(data.n_items)
    ease, inverse, solve = [], [], []
    EASE(l2=l2).fit(train)  # warm-up
    for _ in range(repeats):
        ease.append(best_time(lambda: EASE(l2=l2).fit(train), 1)[0])
        inverse.append(best_time(lambda: np.linalg.inv(system), 1)[0])
        solve.append(best_time(lambda: np.linalg.solve(system, identity), 1)[0])
    ratios = np.array(ease) / np.minimum(inverse, solve)
    threads = ", ".join(sorted({f"{x.get('internal_api')} {x.get('num_threads')} threads" for x in threadpool_info()
                                if x.get("user_api") == "blas"}))
    print("SPEED " + json.dumps({
        "dataset": data.name, "repeats": repeats, "blas": threads,
        "evaluate_users": users, "evaluate_seconds": seconds, "evaluate_users_per_second": users / seconds,
        "n_items": data.n_items, "ease_fit_seconds": min(ease), "bare_inv_seconds": min(inverse),
        "bare_solve_seconds": min(solve), "ease_ratio": float(np.median(ratios)),
        "ease_ratio_of_best": min(ease) / min(min(inverse), min(solve))}))


def _run_speed(dataset: str, seed: int, timeout: int) -> dict:
    try:
        process = subprocess.run([sys.executable, __file__, "--speed-child", "--dataset", dataset, "--seed", str(seed)],
                                 capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout} s"}
    line = next((x for x in process.stdout.splitlines() if x.startswith("SPEED ")), None)
    if line is None:
        return {"error": _error_line(process)}
    return json.loads(line[len("SPEED "):])


def _speed_lines(speed: dict) -> list[str]:
    lines = ["## Speed", "", "Measured in a separate process of the same run (`evaluate`: best of the repeats).", ""]
    if "error" in speed:
        return lines + [f"Speed checks failed: {speed['error']}", ""]
    per_second = speed["evaluate_users_per_second"]
    ratio = speed["ease_ratio"]
    lines += [
        "| check | measured | target | met |", "| --- | --- | --- | --- |",
        f"| `course_lib.evaluate`, dense (users x items) score matrix, {speed['dataset']}, top-10 | "
        f"{per_second:,.0f} users/s ({speed['evaluate_users']} users in {speed['evaluate_seconds'] * 1000:.1f} ms) | "
        f">= {EVALUATE_TARGET:,} users/s | {'met' if per_second >= EVALUATE_TARGET else 'NOT met'} |",
        f"| EASE fit (`course_lib.closed_form.EASE`, {speed['n_items']} items) over a bare NumPy solve of the same "
        f"system | {ratio:.2f}x (median of the paired repeats; best times: EASE {speed['ease_fit_seconds']:.3f} s, "
        f"`np.linalg.inv` {speed['bare_inv_seconds']:.3f} s, `np.linalg.solve(A, I)` {speed['bare_solve_seconds']:.3f} s, "
        f"ratio {speed['ease_ratio_of_best']:.2f}x) | "
        f"<= {EASE_TARGET}x | {'met' if ratio <= EASE_TARGET else 'NOT met'} |",
        "", f"{speed['repeats']} repeats; BLAS: {speed['blas'] or 'unknown'} (the same for EASE and the bare solve).", ""]
    return lines


def _run_models(names: list[str], dataset: str, seed: int, timeout: int) -> list[dict]:
    rows = []
    for name in names:
        started = time.perf_counter()
        try:
            process = subprocess.run([sys.executable, __file__, "--one", name, "--dataset", dataset, "--seed", str(seed)],
                                     capture_output=True, text=True, timeout=timeout, cwd=ROOT)
            line = next((x for x in process.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                rows.append({"model": name, "framework": MODELS[name].framework, "error": _error_line(process)})
            else:
                rows.append(json.loads(line[len("RESULT "):]))
        except subprocess.TimeoutExpired:
            rows.append({"model": name, "framework": MODELS[name].framework, "error": f"stopped after {timeout} s"})
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

    panels = [("ndcg@10", "NDCG@10 (higher is better)"), ("rmse", "test RMSE (lower is better)"),
              ("mrr", "next-item MRR (higher is better)")]
    panels = [(metric, label) for metric, label in panels
              if any(row.get("metric") == metric and "error" not in row for row in rows)] or panels[:1]
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5), squeeze=False)
    for ax, (metric, label) in zip(axes[0], panels, strict=True):
        for row in rows:
            if "error" in row or row.get("metric") != metric:
                continue
            marker = {"torch": "o", "tf": "s"}.get(row["framework"], "^")
            x = max(row["fit_seconds"], 1e-3)
            ax.scatter(x, row["value"], marker=marker, s=40)
            ax.annotate(row["model"], (x, row["value"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("fit time (s, log scale); circle PyTorch, square TensorFlow, triangle NumPy")
        ax.set_ylabel(label)
        ax.set_title(f"Accuracy against fit time: {metric}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _command(arguments: argparse.Namespace) -> str:
    given = shlex.join(sys.argv[1:])
    command = "`python bench/run_all.py" + (f" {given}" if given else "") + "`"
    if not given or given == f"--dataset {arguments.dataset}":
        command += " (`make bench" + (f" DATASET={arguments.dataset}" if arguments.dataset != "ml-100k" else "") + "`)"
    return command


def _markdown(dataset: str, machine: str, rows: list[dict], notebooks: list[dict], extra: list[str],
              command: str = "`python bench/run_all.py`") -> str:
    lines = [f"# Benchmark results: {dataset}", "", f"Machine: {machine}", "",
             f"Command: {command}, run on {time.strftime('%Y-%m-%d')}.", "",
             "## Models", "",
             "One row per model and framework, each trained and evaluated in a fresh process with the split, "
             "the protocol and the hyperparameters of its solution notebook (column nb; the hyperparameters are "
             "read from the notebook when the bench runs, * where `bench/models.py`'s copy was used). "
             "Peak memory is the process's peak resident set size (the framework's import included).", "",
             "| model | framework | nb | protocol | metric | value | other metrics | fit (s) | evaluate (s) | peak memory (MiB) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        if "error" in row:
            error = str(row["error"]).replace("|", "\\|")
            lines.append(f"| {row['model']} | {row.get('framework', '')} | | | | error: {error} | | | | |")
            continue
        others = ", ".join(f"{k} {v:.4f}" for k, v in row.get("other_metrics", {}).items())
        source = row.get("arguments_from", "")
        notebook = row.get("notebook", "")[:2] + ("*" if "bench/models.py" in source and source != "bench/models.py" else "")
        lines.append(f"| {row['model']} | {row['framework']} | {notebook} | {row['protocol']} | {row['metric']} | "
                     f"{row['value']:.4f} | {others} | {row['fit_seconds']:.2f} | {row['evaluate_seconds']:.2f} | "
                     f"{row['peak_memory_mib']:.0f} |")
    lines += ["", "![accuracy against fit time](accuracy_vs_fit_time.png)", ""]
    if notebooks:
        lines += _notebook_section(notebooks).splitlines()
    lines += extra
    return "\n".join(lines) + "\n"


def _notebook_section(notebooks: list[dict]) -> str:
    total = sum(n["seconds"] for n in notebooks)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["## Notebooks", "", "Wall time of `jupyter nbconvert --execute` on each solution notebook "
             f"(kernel start included), load average {load} at the end. Budget: 120 s each, 12 minutes in all.",
             "", "| notebook | seconds | within 120 s | ran |", "| --- | --- | --- | --- |"]
    for notebook in notebooks:
        lines.append(f"| {notebook['notebook']} | {notebook['seconds']:.1f} | "
                     f"{'yes' if notebook['seconds'] <= 120 else 'NO'} | {'yes' if notebook['ok'] else 'FAILED'} |")
    lines += [f"| **all** | **{total:.1f}** | {'yes' if total <= 720 else 'NO'} (12 min) | |", ""]
    return "\n".join(lines) + "\n"


FRESH_CLONE_HEADING = "## `make test` from a fresh clone"


def _fresh_clone_test() -> str:
    """Clone HEAD beside this checkout (so ../shared is found as in CI), run `.ci/run` there, time it."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="fresh-clone-", dir=ROOT.parent) as folder:
        clone = Path(folder) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.perf_counter()
        process = subprocess.run(["bash", ".ci/run"], capture_output=True, text=True, cwd=clone,
                                 env={**os.environ, "CI": "true"})
        seconds = time.perf_counter() - started
    output = (process.stdout + process.stderr).splitlines()
    pytest_summary = re.compile(r"^=*\s*\d+ (passed|failed)\b.* in [\d.]+s")  # "870 passed, 38 skipped in 700.1s"
    # .ci/run runs two pytest sessions: `make test`, then `make colab-check` (Python 3.13, Colab's versions).
    summaries = [line.strip("= ") for line in output if pytest_summary.match(line)]
    summary = summaries[0] if summaries else "no pytest summary"
    if len(summaries) > 1:
        summary += f"; colab-check: {summaries[1]}"
    print(f"fresh clone at {commit}: exit {process.returncode}, {seconds:.0f} s, {summary}", flush=True)
    return "\n".join([
        FRESH_CLONE_HEADING, "",
        f"`python bench/run_all.py --fresh-clone-test` on {time.strftime('%Y-%m-%d')}: `git clone` of commit {commit}, "
        "then `CI=true bash .ci/run` in it (a new `.venv`, the install from the pip cache, `make test`: the unit "
        "tests and every solution notebook under nbval, then `make colab-check`). Budget: 25 minutes.", "",
        "| commit | exit status | wall time | within 25 min | pytest |", "| --- | --- | --- | --- | --- |",
        f"| {commit} | {process.returncode} | {seconds / 60:.1f} min ({seconds:.0f} s) | "
        f"{'yes' if seconds <= 1500 else 'NO'} | {summary} |", ""])


def _section(path: Path, heading: str) -> str:
    """The section of ``path`` under ``heading`` (to the next ``## `` heading), or ''."""
    if not path.exists():
        return ""
    text = path.read_text()
    if heading not in text:
        return ""
    rest = text[text.index(heading):]
    end = rest.find("\n## ", len(heading))
    return (rest if end < 0 else rest[:end]).rstrip("\n") + "\n"


def _replace_section(path: Path, heading: str, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    old = _section(path, heading)
    text = text.replace(old, section) if old else text.rstrip("\n") + "\n\n" + section
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=os.environ.get("DATASET") or "ml-100k")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--models", default="*", help="glob over model names, e.g. 'BPR*' or '* (tf)'")
    parser.add_argument("--list", action="store_true", help="print the model names and exit")
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--speed-repeats", type=int, default=7)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per model or notebook")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--speed-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--notebooks-only", action="store_true",
                        help="only time the notebooks again, into the RESULTS.md section (the model rows stay)")
    parser.add_argument("--speed-only", action="store_true",
                        help="only run the speed checks again, into the RESULTS.md section (the model rows stay)")
    parser.add_argument("--fresh-clone-test", action="store_true",
                        help="only time CI (`.ci/run`: make test) on a fresh clone of HEAD, into the RESULTS.md section")
    arguments = parser.parse_args()
    if arguments.notebooks_only:
        _replace_section(arguments.out, "## Notebooks", _notebook_section(_run_notebooks(arguments.timeout)))
        print(f"updated the notebooks of {arguments.out}")
        return
    if arguments.speed_only:
        lines = _speed_lines(_run_speed(arguments.dataset, arguments.seed, arguments.timeout))
        _replace_section(arguments.out, "## Speed", "\n".join(lines).rstrip("\n") + "\n")
        print("\n".join(lines))
        print(f"updated the speed checks of {arguments.out}")
        return
    if arguments.fresh_clone_test:
        _replace_section(arguments.out, FRESH_CLONE_HEADING, _fresh_clone_test())
        print(f"updated {arguments.out}")
        return
    if arguments.one:
        _child(arguments.one, arguments.dataset, arguments.seed)
        return
    if arguments.speed_child:
        _speed_child(arguments.dataset, arguments.seed, arguments.speed_repeats)
        return
    names = [name for name in MODELS if fnmatch.fnmatch(name, arguments.models)]
    if arguments.list:
        for name in names:
            entry = MODELS[name]
            print(f"{name:<32} {entry.framework:<6} {entry.protocol:<18} {entry.notebook or ''}")
        return
    if not names:
        parser.error(f"no model matches {arguments.models!r}; see --list")
    command = _command(arguments)
    rows = _run_models(names, arguments.dataset, arguments.seed, arguments.timeout)
    extra = []
    if not arguments.skip_speed:
        speed = _run_speed(arguments.dataset, arguments.seed, arguments.timeout)
        extra = _speed_lines(speed)
        print("\n".join(extra), flush=True)
    notebooks = [] if arguments.skip_notebooks else _run_notebooks(arguments.timeout)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    _plot(rows, arguments.out.parent / "accuracy_vs_fit_time.png")
    text = _markdown(arguments.dataset, _machine(), rows, notebooks, extra, command)
    kept = _section(arguments.out, FRESH_CLONE_HEADING)  # measured separately (--fresh-clone-test): keep it
    if kept:
        text = text.rstrip("\n") + "\n\n" + kept
    temporary = arguments.out.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, arguments.out)
    print(f"wrote {arguments.out}")


if __name__ == "__main__":
    main()
