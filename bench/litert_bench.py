#!/usr/bin/env python3
"""LiteRT's inference latency (pip's ai-edge-litert, its default XNNPACK delegate) on the .tflite
files bench/to_tflite.py writes: the median (and 10th and 90th percentiles) of RUNS timed
invoke() calls after 20 warm-up calls, seeded random NHWC inputs, THREADS threads. Prints the
median of NAME.identity.tflite as "overhead" (a call from Python with no work in it), and the
largest difference from ONNX Runtime on NAME.onnx (same weights, NCHW input), which checks the
conversion: it is small except where TFLite's SAME padding differs from PyTorch's (stride 2).

usage: python3 bench/litert_bench.py [--runs N] [--threads T] MODEL.tflite...
"""
import os
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def time_model(path, runs, threads, x=None):
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    if x is None:
        x = np.random.default_rng(1).uniform(-1, 1, detail["shape"]).astype(np.float32)
    interpreter.set_tensor(detail["index"], x)
    times = []
    for r in range(20 + runs):
        start = time.perf_counter()
        interpreter.invoke()
        if r >= 20:
            times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    return times[len(times) // 2], times[len(times) // 10], times[len(times) * 9 // 10], x, output


def main():
    args = sys.argv[1:]
    runs, threads = 200, 1
    while len(args) >= 2 and args[0] in ("--runs", "--threads"):
        if args[0] == "--runs":
            runs = int(args[1])
        else:
            threads = int(args[1])
        args = args[2:]
    import ai_edge_litert
    version = getattr(ai_edge_litert, "__version__", "")
    for path in args:
        median, p10, p90, x, output = time_model(path, runs, threads)
        line = "%s litert-%s median %.1f us p10 %.1f p90 %.1f" % (path, version, median, p10, p90)
        identity = path[:-len(".tflite")] + ".identity.tflite"
        if os.path.exists(identity):
            line += " overhead %.1f us" % time_model(identity, runs, threads)[0]
        onnx_path = path[:-len(".tflite")] + ".onnx"
        if os.path.exists(onnx_path):
            import onnxruntime as ort
            session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
            feed = x.transpose(0, 3, 1, 2) if x.ndim == 4 else x
            expected = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(feed)})[0]
            line += " max_diff_vs_onnxruntime %.2g" % float(np.max(np.abs(expected - output)))
        print(line, flush=True)


if __name__ == "__main__":
    main()
