"""Grading time for a class: synthetic students built from the solutions and typical mistakes.

    python bench/grading_benchmark.py [--students 200] [--notebooks 00_data_and_evaluation] [--workers 2]
                                      [--mix 0.4 0.3 0.3] [--keep DIR]

Each synthetic student holds the ``--notebooks``; each of their notebooks is, at random (seeded), the
solution (``--mix`` first share), the student edition with its stubs (second), or the solution with
one answer cell mutated the way students err (third: an operator, an axis or a constant changed,
``mutate``). The whole class is graded once by ``course_lib.grading.grade`` (the real sandbox) with
``--workers`` workers, as ``make grade`` does. Printed: the wall time for the class, seconds per
notebook (median, 90th percentile, max, per notebook: from the grader's own per-notebook timing),
the points distribution (a sanity check: mutants mostly lose points), and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (pattern, replacement): one is applied to one answer cell of a mutant
MUTATIONS = [(r" / ", " * "), (r"axis=1", "axis=0"), (r"axis=0", "axis=1"), (r"\+ 1\b", ""), (r"\.mean\(", ".sum("),
             (r"\.sum\(", ".mean("), (r"np\.log2\(", "np.log("), (r"\[:k\]", "[:k - 1]"), (r" - ", " + "),
             (r"torch\.relu\(", "("), (r"\.T\b", ""), (r"sqrt\(", "(")]


def mutate(notebook: nbformat.NotebookNode, rng: random.Random) -> nbformat.NotebookNode:
    """The notebook with one answer cell changed by one mutation that applies to it (or as it was)."""
    notebook = nbformat.from_dict(notebook)
    answers = [cell for cell in notebook.cells
               if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")]
    rng.shuffle(answers)
    for cell in answers:
        options = [(p, r) for p, r in MUTATIONS if re.search(p, cell.source)]
        if options:
            pattern, replacement = rng.choice(options)
            cell.source = re.sub(pattern, replacement, cell.source, count=1)
            return notebook
    return notebook


def build_class(folder: Path, students: int, notebooks: list[str], mix: list[float], seed: int) -> dict:
    rng = random.Random(seed)
    kinds = {"solution": 0, "stub": 0, "mutant": 0}
    sources = {name: nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4) for name in notebooks}
    stubs = {name: nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4) for name in notebooks}
    for index in range(students):
        target = folder / f"student{index:03d}"
        target.mkdir(parents=True)
        for name in notebooks:
            kind = rng.choices(list(kinds), weights=mix)[0]
            kinds[kind] += 1
            notebook = {"solution": sources[name], "stub": stubs[name]}.get(kind) or mutate(sources[name], rng)
            nbformat.write(notebook, target / f"{name}.ipynb")
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--notebooks", nargs="+", default=["00_data_and_evaluation"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mix", type=float, nargs=3, default=[0.4, 0.3, 0.3], metavar=("SOLUTION", "STUB", "MUTANT"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="build the class here and keep it")
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.notebooks if not (ROOT / "solutions" / f"{name}.ipynb").exists()]
    if unknown:
        parser.error(f"no solution notebook named {unknown}; the course's are "
                     f"{sorted(p.stem for p in (ROOT / 'solutions').glob('*.ipynb'))}")
    from course_lib.grading.grade import grade_submissions

    base = arguments.keep or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    try:
        kinds = build_class(base / "submissions", arguments.students, arguments.notebooks, arguments.mix,
                            arguments.seed)
        solutions = base / "solutions"
        solutions.mkdir()
        for name in arguments.notebooks:
            shutil.copy2(ROOT / "solutions" / f"{name}.ipynb", solutions)
        load = os.getloadavg()
        started = time.perf_counter()
        table = grade_submissions(base / "submissions", solutions, base / "out", show_progress=False,
                                  course_dir=base / "course", workers=arguments.workers)
        wall = time.perf_counter() - started
        state = json.loads((base / "out" / ".grading-state.json").read_text())
        seconds: dict[str, list[float]] = {}
        for entry in state.values():
            for name, value in entry["seconds"].items():
                seconds.setdefault(name, []).append(value)
        every = sorted(value for values in seconds.values() for value in values)
        print(f"{arguments.students} students x {len(arguments.notebooks)} notebook(s) "
              f"({kinds['solution']} solutions, {kinds['stub']} stubs, {kinds['mutant']} mutants), "
              f"{arguments.workers} workers, {os.cpu_count()} cores, load {load[0]:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after")
        print(f"class: {wall:.0f} s wall ({wall / len(every):.2f} s per notebook graded)")
        print(f"per notebook: median {statistics.median(every):.2f} s, 90th percentile "
              f"{every[int(0.9 * (len(every) - 1))]:.2f} s, max {every[-1]:.2f} s")
        for name, values in sorted(seconds.items()):
            print(f"  {name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s ({len(values)} graded)")
        totals = table.groupby("notebook")["total"].describe()[["count", "mean", "min", "max"]]
        print(totals.to_string())
    finally:
        if arguments.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
