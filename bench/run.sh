#!/usr/bin/env bash
# The benchmark of docs/benchmarks.md in one command: builds preflight (Release) when needed, then
# runs inference (I1, I3, I4) and training (W1, W2, W3, W5) at 1 and 2 threads beside ONNX Runtime,
# LiteRT and PyTorch on the same machine in the same run (bench/run_all.py), and prints the tables.
#   bash bench/run.sh [--quick] [--write]     --write: put the tables into docs/benchmarks.md
# Needs: Debian's python3-torch and python3-onnx (model export, a PyTorch peer); from PyPI:
#   python3 -m pip install onnxruntime ai-edge-litert tflite flatbuffers onnx
# pip's torch, when installed (python3 -m pip install torch), is a second PyTorch peer.
# Run it on an otherwise idle machine: the numbers are medians, but shared cores still move them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ ! -x $build/preflight_bench_train || ! -x $build/preflight_bench_infer ]]; then
  cmake --preset default > /dev/null
fi
cmake --build "$build" --target preflight_bench_infer preflight_bench_train > /dev/null
exec python3 bench/run_all.py "$build" "$@"
