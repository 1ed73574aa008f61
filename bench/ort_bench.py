#!/usr/bin/env python3
"""ONNX Runtime's inference latency on .onnx files: the median (and 10th and 90th percentiles)
of RUNS timed calls after 20 warm-up calls, with seeded random inputs, at THREADS intra-op
threads. Where MODEL.identity.onnx exists beside a model (bench/export_models.py writes them),
its median is printed too as "overhead": what one call from Python costs with no work in it.

usage: python3 bench/ort_bench.py [--runs N] [--threads T] MODEL.onnx...      (pip's onnxruntime)
"""
import os
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    args = sys.argv[1:]
    runs, threads = 200, 1
    while len(args) >= 2 and args[0] in ("--runs", "--threads"):
        if args[0] == "--runs":
            runs = int(args[1])
        else:
            threads = int(args[1])
        args = args[2:]
    for path in args:
        median, p10, p90 = time_model(path, runs, threads)
        line = "%s onnxruntime-%s median %.1f us p10 %.1f p90 %.1f" % (path, ort.__version__, median, p10, p90)
        identity = path[:-len(".onnx")] + ".identity.onnx"
        if os.path.exists(identity):
            line += " overhead %.1f us" % time_model(identity, runs, threads)[0]
        print(line, flush=True)


def time_model(path, runs, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feeds = {}
    rng = np.random.default_rng(1)
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    times = []
    for r in range(20 + runs):
        start = time.perf_counter()
        session.run(None, feeds)
        if r >= 20:
            times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return times[len(times) // 2], times[len(times) // 10], times[len(times) * 9 // 10]


if __name__ == "__main__":
    main()
