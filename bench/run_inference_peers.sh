#!/usr/bin/env bash
# Inference side by side in one run, one thread, pinned to one core: ONNX Runtime and preflight
# (reference and XNNPACK backends) on the very same weights (the models exported once by PyTorch,
# converted by preflight's ONNX importer). Needs Debian's python3-torch (export) and pip's
# onnxruntime (python3 -m pip install onnxruntime). Prints medians and preflight/ORT ratios.
# usage: bash bench/run_inference_peers.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-200}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 bench/export_models.py "$out" > /dev/null
for m in mlp cnn32 mbv2; do
  ort=$(taskset -c 0 python3 bench/ort_bench.py --runs "$runs" "$out/$m.onnx" | awk '{print $4}')
  taskset -c 0 "$build/preflight_bench_infer" "$out/$m.onnx" --runs "$runs" --backends ${BACKENDS:-reference,xnnpack,onednn,auto} |
    awk -v model="$m" -v ort="$ort" '{printf "%-6s %-10s median %9.1f us   onnxruntime %9.1f us   ratio to onnxruntime %.3f\n", model, $2, $6, ort, $6 / ort}'
done
