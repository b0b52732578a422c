"""EASE fit time and memory by catalogue size: NumPy, PyTorch and TensorFlow, and a bare inverse.

    python bench/ease_benchmark.py [--sizes 2000 5000 10000] [--users 5000] [--repeats 1]

Prints one table: for MovieLens 100K (when its files are found, see README "Data") and for the
synthetic set at each catalogue size, the estimated memory of the dense fit, the fit time of the
three EASE implementations, and the time of a bare ``np.linalg.inv`` and ``np.linalg.solve`` of
the same (I, I) system. Timings are the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import course_lib
from course_lib.closed_form import EASE, CatalogueTooLargeError, check_dense_memory, ease_inputs, ease_memory_bytes


def _best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(name: str, data: course_lib.Interactions, l2: float, repeats: int) -> dict:
    from course_lib.tf.ease import EASE as TFEASE
    from course_lib.torch.ease import EASE as TorchEASE

    n_items = data.n_items
    row = {"data": name, "n_users": data.n_users, "n_items": n_items, "interactions": len(data),
           "memory estimate (GiB)": ease_memory_bytes(n_items) / 2**30}
    try:
        check_dense_memory(n_items)
    except CatalogueTooLargeError as error:
        row["note"] = str(error)
        return row
    row["numpy fit (s)"] = _best(lambda: EASE(l2=l2).fit(data), repeats)
    row["torch fit (s)"] = _best(lambda: TorchEASE(l2=l2, device="cpu").fit(data), repeats)
    row["tf fit (s)"] = _best(lambda: TFEASE(l2=l2, device="cpu").fit(data), repeats)
    row["numpy float32 fit (s)"] = _best(lambda: EASE(l2=l2, dtype=np.float32).fit(data), repeats)
    _, gram = ease_inputs(data)
    system = gram + l2 * np.eye(n_items)
    row["bare np.linalg.inv (s)"] = _best(lambda: np.linalg.inv(system), repeats)
    identity = np.eye(n_items)
    row["bare np.linalg.solve (s)"] = _best(lambda: np.linalg.solve(system, identity), repeats)
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--per-user", type=float, default=50.0)
    parser.add_argument("--l2", type=float, default=500.0)
    parser.add_argument("--repeats", type=int, default=1)
    arguments = parser.parse_args(argv)
    rows = []
    try:
        rows.append(measure("ml-100k", course_lib.load_dataset("ml-100k"), arguments.l2, arguments.repeats))
    except course_lib.DatasetNotFoundError:
        print("MovieLens 100K not found: measuring the synthetic catalogues only.")
    for n_items in arguments.sizes:
        data = course_lib.make_synthetic(n_users=arguments.users, n_items=n_items,
                                         mean_per_user=arguments.per_user, seed=0)
        rows.append(measure(f"synthetic {n_items}", data, arguments.l2, arguments.repeats))
        print(f"measured {n_items} items", flush=True)
    table = pd.DataFrame(rows).set_index("data")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print(table)
    return table


if __name__ == "__main__":
    main()
