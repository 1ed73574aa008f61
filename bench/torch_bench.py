#!/usr/bin/env python3
"""PyTorch on the benchmark workloads, the same architectures as models/models.cc
(bench/export_models.py defines them): training steps per second (Adam, cross-entropy, the
median of STEPS timed steps after 3 warm-up steps) and inference latency (the median of RUNS
calls under torch.no_grad after 20 warm-up calls), at THREADS intra-op threads.

usage: python3 bench/torch_bench.py [--threads T] [--steps S] [--runs R] [--only W1,I3,...]
Prints one line per workload: "torch-VERSION ID median X ms|us ...". Runs under any Python
that has torch: Debian's python3-torch (/usr/bin/python3) or pip's torch.
"""
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models as models  # noqa: E402

TRAINING = [("W1", models.mlp, 32), ("W2", models.cnn8, 64), ("W3", models.cnn32, 32), ("W5", models.mlp1024, 256)]
INFERENCE = [("I1", models.mlp), ("I3", models.cnn32), ("I4", models.mbv2)]


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    args = sys.argv[1:]
    threads, steps, runs, only = 1, 30, 200, None
    while args:
        flag, value, args = args[0], args[1], args[2:]
        if flag == "--threads":
            threads = int(value)
        elif flag == "--steps":
            steps = int(value)
        elif flag == "--runs":
            runs = int(value)
        elif flag == "--only":
            only = value.split(",")
        else:
            print(__doc__)
            sys.exit(2)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    version = "torch-" + torch.__version__
    for workload, build, batch in TRAINING:
        if only and workload not in only:
            continue
        model, shape = build()
        # 8 batches, a different one each step (as bench/train_bench.cc): one batch repeated is
        # memorized and its tiny gradients turn denormal, which is slow on x86.
        xs = [torch.rand((batch,) + tuple(shape[1:])) * 2 - 1 for _ in range(8)]
        ys = [torch.randint(0, 10, (batch,)) for _ in range(8)]
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        times = []
        for r in range(3 + steps):
            x, y = xs[r % 8], ys[r % 8]
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            if r >= 3:
                times.append(time.perf_counter() - start)
        seconds = median(times)
        print("%s %s batch %d threads %d median %.3f ms %.1f steps/s" % (version, workload, batch, threads, seconds * 1e3,
                                                                        1 / seconds), flush=True)
    for workload, build in INFERENCE:
        if only and workload not in only:
            continue
        model, shape = build()
        model.eval()
        x = torch.rand(shape) * 2 - 1
        times = []
        with torch.no_grad():
            for r in range(20 + runs):
                start = time.perf_counter()
                model(x)
                if r >= 20:
                    times.append(time.perf_counter() - start)
        print("%s %s batch 1 threads %d median %.1f us" % (version, workload, threads, median(times) * 1e6), flush=True)


if __name__ == "__main__":
    main()
