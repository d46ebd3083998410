#!/usr/bin/env python3
"""Reference timings for README's Performance table: PyOD's and DeepOD's
Deep SVDD on shuttle, with the configuration of the Go benchmarks
BenchmarkTrainDeepSVDDShuttle and BenchmarkScoreDeepSVDDShuttle
(hidden 64,32, batch 256, 20 epochs, all 49,097 rows, CPU only).

    python3 scripts/compare_pyod.py [--runs 3] [--threads 2]

It prints the library versions, then min/median/max training seconds and
scoring rows/s of each library it finds. A library that is not installed
is reported as skipped; with neither installed the script prints
"skipped" and exits 0, so it can run anywhere. The project's own machines
reach no Python package index, so README carries no figures from this
script: run it where PyOD/DeepOD and PyTorch are installed and compare in
the same run with `make bench`'s two benchmarks on the same machine.
"""
import argparse
import csv
import gzip
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHUTTLE = os.path.join(HERE, "..", "testdata", "shuttle.csv.gz")


def load_shuttle():
    """Features of testdata/shuttle.csv.gz (columns id, f0..f8, label)."""
    import numpy as np

    with gzip.open(SHUTTLE, "rt") as f:
        r = csv.reader(f)
        header = next(r)
        feats = [i for i, h in enumerate(header) if h.startswith("f")]
        rows = [[float(row[i]) for i in feats] for row in r]
    return np.asarray(rows, dtype=np.float32)


def summarise(name, train_s, score_rps):
    print(
        f"{name}: train s min/median/max "
        f"{min(train_s):.2f}/{statistics.median(train_s):.2f}/{max(train_s):.2f}; "
        f"score rows/s min/median/max "
        f"{min(score_rps):.3g}/{statistics.median(score_rps):.3g}/{max(score_rps):.3g}"
    )


def run_pyod(x, runs):
    from pyod.models.deep_svdd import DeepSVDD

    train_s, score_rps = [], []
    for seed in range(runs):
        kw = dict(hidden_neurons=[64, 32], epochs=20, batch_size=256, random_state=seed, verbose=0)
        try:
            m = DeepSVDD(n_features=x.shape[1], **kw)  # pyod >= 2
        except TypeError:
            m = DeepSVDD(**kw)
        t = time.perf_counter()
        m.fit(x)
        train_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        m.decision_function(x)
        score_rps.append(len(x) / (time.perf_counter() - t))
    summarise("pyod DeepSVDD", train_s, score_rps)


def run_deepod(x, runs):
    from deepod.models.tabular import DeepSVDD

    train_s, score_rps = [], []
    for seed in range(runs):
        m = DeepSVDD(hidden_dims="64,32", epochs=20, batch_size=256, random_state=seed, verbose=0, device="cpu")
        t = time.perf_counter()
        m.fit(x)
        train_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        m.decision_function(x)
        score_rps.append(len(x) / (time.perf_counter() - t))
    summarise("deepod DeepSVDD", train_s, score_rps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    try:
        import numpy  # noqa: F401
        import torch
    except ImportError as e:
        print(f"skipped: {e.name} is not installed")
        return 0
    torch.set_num_threads(args.threads)
    print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, torch {torch.__version__}, threads {args.threads}")
    x = load_shuttle()
    ran = False
    for lib, fn in (("pyod", run_pyod), ("deepod", run_deepod)):
        try:
            mod = __import__(lib)
        except ImportError:
            print(f"{lib}: skipped (not installed)")
            continue
        print(f"{lib} {getattr(mod, '__version__', '?')}")
        fn(x, args.runs)
        ran = True
    if not ran:
        print("skipped: neither pyod nor deepod is installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
