"""Run every solution notebook on a data set of MovieLens 1M's size and report how long each takes.

    python bench/scale_benchmark.py [--dataset synthetic-ml-1m] [--notebooks 01 07] [--timeout 1800]

Each notebook runs top to bottom in a fresh kernel with ``DATASET`` set after its parameters cell
(the notebook's own settings otherwise: epochs are ceilings, training stops on the validation set).
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


def with_dataset(notebook: nbformat.NotebookNode, dataset: str) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with ``DATASET = dataset`` right after the cell tagged ``parameters``."""
    notebook = nbformat.from_dict(notebook)
    for index, cell in enumerate(notebook.cells):
        if "parameters" in cell.metadata.get("tags", []):
            notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(f"DATASET = {dataset!r}"))
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
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute()
        outcome = "ran"
    except CellTimeoutError:
        outcome = f"a cell ran past {timeout} s"
    except CellExecutionError as error:
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        outcome = "failed: " + (lines[-1][:160] if lines else "an error")
    except Exception as error:  # noqa: BLE001 - a dead kernel surfaces as nbclient's own cleanup error too
        dead = isinstance(error, DeadKernelError) or isinstance(error.__context__, DeadKernelError)
        cell = next((c for c in reversed(notebook.cells) if c.cell_type == "code" and c.get("execution_count")), None)
        where = f" after cell [{cell.execution_count}]" if cell is not None else ""
        outcome = (f"the kernel died{where} (killed: out of memory?)" if dead
                   else f"the run stopped{where}: {type(error).__name__}: {str(error)[:120]}")
    return time.perf_counter() - started, outcome, epochs_printed(notebook)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-ml-1m")
    parser.add_argument("--notebooks", nargs="*", default=None, help="numbers such as 01 07 (default: all)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "SCALE.md")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if p.name[:2] in set(args.notebooks)]
    rows = []
    for path in paths:
        seconds, outcome, epochs = run(path, args.dataset, args.timeout)
        rows.append((path.stem, seconds, outcome, epochs))
        print(f"{path.stem}: {seconds:.0f} s, {outcome}; " + "; ".join(epochs), flush=True)
    lines = [f"# Notebooks on `{args.dataset}`", "",
             f"Command: `python bench/scale_benchmark.py --dataset {args.dataset}`, run on "
             f"{time.strftime('%Y-%m-%d')}; {platform.platform()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}. Load average at the end: "
             f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}.", "",
             "| notebook | seconds | outcome | early stopping (best epoch of epochs trained) |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {seconds:.0f} | {outcome} | {'<br>'.join(epochs) or '-'} |"
              for name, seconds, outcome, epochs in rows]
    args.output.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output}")
    return 0 if all(outcome == "ran" for _, _, outcome, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
