#!/usr/bin/env python3
"""ONNX Runtime's inference latency on .onnx files, one thread: the median (and 10th and 90th
percentiles) of RUNS timed calls after 20 warm-up calls, with seeded random inputs.

usage: python3 bench/ort_bench.py [--runs N] MODEL.onnx...      (pip's onnxruntime)
"""
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    args = sys.argv[1:]
    runs = 200
    if len(args) >= 2 and args[0] == "--runs":
        runs, args = int(args[1]), args[2:]
    for path in args:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
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
        print("%s onnxruntime-%s median %.1f us p10 %.1f p90 %.1f" % (path, ort.__version__, times[len(times) // 2],
                                                                     times[len(times) // 10], times[len(times) * 9 // 10]))


if __name__ == "__main__":
    main()
