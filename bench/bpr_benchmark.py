"""BPR-MF (PyTorch and TensorFlow twins) against the `implicit` library's BPR, in one run.

    python bench/bpr_benchmark.py [--dataset ml-100k] [--seed 42] [--epochs 30] [--threads 1]

On the global random 80/20 split (all ratings as positives, training items excluded) it prints
NDCG@10 and fit seconds of each model, and the training time our BPR-MF needs to reach the NDCG@10
of implicit's BPR (64 factors, 100 iterations). `implicit` is a benchmark dependency only
(``pip install implicit``); without it the script says so and benchmarks our twins alone.
``--threads`` sets the CPU threads of every library (torch, TensorFlow, implicit), the same for
all; on a shared, loaded machine 1 thread gives the steadiest timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)

    import numpy as np
    import pandas as pd
    import tensorflow as tf
    import torch

    import course_lib

    torch.set_num_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from course_lib.tf.bpr import BPRMF as TFBPRMF
    from course_lib.torch.bpr import BPRMF as TorchBPRMF

    data = course_lib.load_dataset(args.dataset, fallback="synthetic")
    train, test = course_lib.random_split(data, test_fraction=0.2, seed=args.seed)
    print(f"{data.name}: {train.n_users} users, {train.n_items} items, {len(train):,} training interactions; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.threads} thread(s)")

    rows = {}
    target = None
    try:
        import threadpoolctl
        from implicit.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(factors=64, iterations=100, random_state=args.seed,
                                            num_threads=args.threads)
        matrix = train.to_csr().astype(np.float32)
        with threadpoolctl.threadpool_limits(1, "blas"):
            started = time.perf_counter()
            model.fit(matrix, show_progress=False)
            seconds = time.perf_counter() - started

        class ImplicitScores:
            def score(self, user_ids: np.ndarray) -> np.ndarray:
                return np.asarray(model.user_factors[user_ids] @ model.item_factors.T)

        target = course_lib.evaluate(ImplicitScores(), train, test, cutoffs=10)["ndcg"].iloc[0]
        rows["implicit BPR (64 factors, 100 iterations)"] = {"NDCG@10": target, "fit seconds": seconds}
    except ImportError:
        print("The `implicit` package is not installed (pip install implicit): benchmarking our BPR-MF alone.")

    for name, model_class in (("BPR-MF (PyTorch)", TorchBPRMF), ("BPR-MF (TensorFlow)", TFBPRMF)):
        model = model_class(embedding_dim=64, epochs=args.epochs, seed=args.seed, device="cpu")
        model.fit(train, validation=test, show_progress=False)
        curve = np.array(model.history_["validation_ndcg@10"])
        row = {"NDCG@10": curve[-1], "fit seconds": model.history_["seconds"][-1]}
        if target is not None:
            reached = np.flatnonzero(curve >= target)
            row["epochs to implicit's NDCG"] = int(reached[0]) + 1 if len(reached) else None
            row["seconds to implicit's NDCG"] = model.history_["seconds"][reached[0]] if len(reached) else None
        rows[name] = row
    table = pd.DataFrame(rows).T
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    if target is not None:
        implicit_seconds = rows["implicit BPR (64 factors, 100 iterations)"]["fit seconds"]
        for name in ("BPR-MF (PyTorch)", "BPR-MF (TensorFlow)"):
            seconds = rows[name].get("seconds to implicit's NDCG")
            if seconds is not None:
                print(f"{name} reaches implicit's NDCG@10 {target:.4f} after {seconds:.2f} s of training: "
                      f"{seconds / implicit_seconds:.2f}x implicit's fit time (the target is at most 3x).")
            else:
                print(f"{name} does not reach implicit's NDCG@10 {target:.4f} in {args.epochs} epochs.")


if __name__ == "__main__":
    main()
