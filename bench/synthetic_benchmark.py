"""Time and peak memory of `make_synthetic` at the sizes of MovieLens 100K and 1M.

    python bench/synthetic_benchmark.py [--sizes ml-100k ml-1m] [--seed 0] [--repeats 3]

Each size runs in a fresh Python process, so that its peak resident memory (RSS) is its own:
the figure printed is the process's peak, and, beside it, the peak beyond what the process held
after importing course_lib (numpy and pandas alone take about 100 MB). The time is the best of
``--repeats`` runs in that process: this machine is shared. Peak RSS needs the `resource` module
(Linux, macOS); elsewhere it prints "n/a".
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

# MovieLens' own sizes: users, items, ratings.
SIZES = {
    "ml-100k": (943, 1682, 100_000),
    "ml-1m": (6040, 3706, 1_000_209),
}

_CHILD = """
import json, sys, time
try:
    import resource
except ImportError:
    resource = None
import numpy as np
from course_lib.data.interactions import gini
from course_lib.data.synthetic import make_synthetic

def peak_mib():
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux

n_users, n_items, n_ratings, seed, repeats = json.loads(sys.argv[1])
baseline = peak_mib()
best = float("inf")
for _ in range(repeats):
    started = time.perf_counter()
    data = make_synthetic(n_users=n_users, n_items=n_items, mean_per_user=n_ratings / n_users, seed=seed)
    best = min(best, time.perf_counter() - started)
per_user = np.bincount(data.users, minlength=data.n_users)
print(json.dumps({
    "seconds": best, "peak_mib": peak_mib(), "baseline_mib": baseline, "n_users": data.n_users,
    "n_items": data.n_items, "n_interactions": len(data), "min_per_user": int(per_user.min()),
    "item_gini": float(gini(np.bincount(data.items, minlength=data.n_items))),
    "rating_shares": (np.bincount(data.ratings.astype(int), minlength=6)[1:] / len(data)).round(3).tolist(),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    print(f"{'size':8} {'users':>6} {'items':>6} {'interactions':>12} {'seconds':>8} {'peak MiB':>9} "
          f"{'beyond import':>13} {'min/user':>8} {'item Gini':>9}  rating shares 1..5")
    for size in arguments.sizes:
        n_users, n_items, n_ratings = SIZES[size]
        job = json.dumps([n_users, n_items, n_ratings, arguments.seed, arguments.repeats])
        run = subprocess.run([sys.executable, "-c", _CHILD, job], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            sys.exit(f"{size}: make_synthetic failed:\n{run.stderr}")
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        peak = "n/a" if figures["peak_mib"] is None else f"{figures['peak_mib']:.0f}"
        beyond = "n/a" if figures["peak_mib"] is None else f"{figures['peak_mib'] - figures['baseline_mib']:.0f}"
        print(f"{size:8} {figures['n_users']:>6} {figures['n_items']:>6} {figures['n_interactions']:>12,} "
              f"{figures['seconds']:>8.2f} {peak:>9} {beyond:>13} {figures['min_per_user']:>8} "
              f"{figures['item_gini']:>9.3f}  {figures['rating_shares']}")


if __name__ == "__main__":
    main()
