"""Run every solution notebook on a data set of MovieLens 1M's size and report how long each takes.

    python bench/scale_benchmark.py [--dataset synthetic-ml-1m] [--notebooks 01 07] [--timeout 5400]

Each notebook runs top to bottom in a fresh kernel with ``DATASET`` set after its parameters cell
(the notebook's own settings otherwise: epochs are ceilings, training stops on the validation set),
without its hidden tests, as a student's completed copy would run.
The table (notebook, seconds, outcome, the best and last epochs the models printed) goes to
stdout and to ``bench/SCALE.md``. Nothing is asserted: a notebook that fails is reported with
the error's last line, the others still run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def without_hidden_tests(source: str) -> str:
    """A cell's code without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks, cut by
    nbgrader's own ``ClearHiddenTests`` as for the students' copy. Hidden tests are the grader's:
    notebook 05's compares with a value frozen for the graded data sets only (MovieLens 100K and its
    synthetic stand-in), so on any other data set it stops the notebook by design."""
    from nbgrader.preprocessors import ClearHiddenTests

    cell = nbformat.v4.new_code_cell(source)
    return ClearHiddenTests(enforce_metadata=False).preprocess_cell(cell, {}, 0)[0].source


def with_dataset(notebook: nbformat.NotebookNode, dataset: str) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with ``DATASET = dataset`` right after the cell tagged ``parameters``,
    and no hidden tests (see ``without_hidden_tests``)."""
    notebook = nbformat.from_dict(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = without_hidden_tests(cell.source)
    for index, cell in enumerate(notebook.cells):
        if "parameters" in cell.metadata.get("tags", []):
            notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(f"DATASET = {dataset!r}",
                                                                        metadata={"injected_dataset": True}))
            return notebook
    raise ValueError("The notebook has no cell tagged `parameters`: DATASET cannot be set.")


def epochs_printed(notebook: nbformat.NotebookNode) -> list[str]:
    """The lines the notebook printed about the models' early stopping: 'best epoch B of N',
    'best validation ... at epoch B of N', 'at epoch B (stopped after N)'."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = str(output.get("text", ""))
            found += [line.strip() for line in text.splitlines()
                      if re.search(r"best epoch \d+ of \d+|at epoch \d+ of \d+|at epoch \d+ \(stopped after \d+", line)]
    return found


def run(path: Path, dataset: str, timeout: int) -> tuple[float, str, list[str]]:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = with_dataset(nbformat.read(path, as_version=4), dataset)
    # each code cell's number among the notebook's own (the injected DATASET cell is not counted)
    own = {index: number for number, index in enumerate(
        (i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and not c.metadata.get("injected_dataset")),
        start=1)}
    running = []  # the numbers of the cells started so far

    def note_start(cell, cell_index, **_):
        if cell_index in own:
            running.append(own[cell_index])

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", on_cell_start=note_start,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute()
        outcome = "ran"
    except CellTimeoutError:
        outcome = f"{f'code cell {running[-1]} of {len(own)}' if running else 'a cell'} ran past {timeout} s"
    except CellExecutionError as error:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # the traceback's colours
        lines = [line for line in text.strip().splitlines() if line.strip()]
        outcome = "failed: " + (lines[-1][:160] if lines else "an error")
    except Exception as error:  # noqa: BLE001 - a dead kernel surfaces as nbclient's own cleanup error too
        dead = isinstance(error, DeadKernelError) or isinstance(error.__context__, DeadKernelError)
        # Which cell was running comes from nbclient's start hook: a cell's execution_count is set by a
        # message from the kernel that may or may not arrive before it dies, so it cannot say.
        where = f" in code cell {running[-1]} of {len(own)}" if running else ""
        outcome = (f"the kernel died{where} (killed: out of memory?)" if dead
                   else f"the run stopped{where}: {type(error).__name__}: {str(error)[:120]}")
    return time.perf_counter() - started, outcome, epochs_printed(notebook)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-ml-1m")
    parser.add_argument("--notebooks", nargs="*", default=None, help="numbers such as 01 07 (default: all)")
    parser.add_argument("--timeout", type=int, default=5400,
                        help="seconds per cell (05 fits both LightGCN twins in one cell: 30 min at ML-1M size is not enough)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "SCALE.md")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if p.name[:2] in set(args.notebooks)]
    rows = _kept_rows(args.output, args.dataset)
    outcomes = []
    for path in paths:
        seconds, outcome, epochs = run(path, args.dataset, args.timeout)
        outcomes.append(outcome)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        rows[path.stem] = (f"| {path.stem} | {seconds:.0f} | {outcome} | {time.strftime('%Y-%m-%d')}, load {load} | "
                           f"{'<br>'.join(epochs) or '-'} |")
        print(f"{path.stem}: {seconds:.0f} s, {outcome}; " + "; ".join(epochs), flush=True)
        _write(args.output, args.dataset, rows)
    print(f"wrote {args.output}")
    return 0 if all(outcome == "ran" for outcome in outcomes) else 1


HEADER = "| notebook | seconds | outcome | run on, load average (1 min) | early stopping (best epoch of epochs trained) |"


def _kept_rows(output: Path, dataset: str) -> dict[str, str]:
    """The rows of an earlier run on the same data set, by notebook: a run of some notebooks
    replaces their rows and keeps the others."""
    if not output.exists() or f"`{dataset}`" not in output.read_text().splitlines()[0]:
        return {}
    lines = output.read_text().splitlines()
    if HEADER not in lines:
        return {}
    return {line.split("|")[1].strip(): line for line in lines[lines.index(HEADER) + 2:] if line.startswith("| ")}


def _write(output: Path, dataset: str, rows: dict[str, str]) -> None:
    lines = [f"# Notebooks on `{dataset}`", "",
             f"Command: `python bench/scale_benchmark.py --dataset {dataset} [--notebooks NN ...]`; "
             f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. Each "
             "notebook runs top to bottom in a fresh kernel with its own settings and without its hidden tests (the grader's); a run of some notebooks "
             "replaces their rows and keeps the others, so each row says when it ran and how loaded the "
             "machine was.", "", HEADER, "| --- | --- | --- | --- | --- |"]
    lines += [rows[name] for name in sorted(rows)]
    temporary = output.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n")
    temporary.replace(output)


if __name__ == "__main__":
    raise SystemExit(main())
