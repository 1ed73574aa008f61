#!/usr/bin/env bash
# The outputs a refactoring must keep bit for bit, one per line (the first 16 hex digits of its SHA-256): the reference models
# (mlp, cnn8, cnn32, mbv2) written, run and (mlp, cnn8) trained, and the ONNX fixtures converted
# and run, on every CPU backend this build has, one thread. Run it with the build before and the
# build after a change and compare the two listings (docs/adding-an-op.md records one):
#   bash scripts/output_digest.sh build > before.txt   # ... change, rebuild ...
#   bash scripts/output_digest.sh build > after.txt && diff before.txt after.txt
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tool=$build/preflight
[[ -x $tool ]] || { echo "output_digest: no $tool: build first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
digest() { printf '%s %s\n' "$(sha256sum < "$2" | cut -c1-16)" "$1"; }
# The CPU backends and OpenCL (deterministic on one thread; auto is not: it times its candidates).
backends=""
"$tool" build-model mlp -o "$work/probe.pfb" > /dev/null
for backend in reference xnnpack onednn opencl; do
  if "$tool" run "$work/probe.pfb" -i tests/fixtures/onnx/mlp_x.npy --backend "$backend" > /dev/null 2>&1; then
    backends+=" $backend"
  fi
done
echo "# backends:$backends"
# Inputs of the reference models' own sizes, from a fixed pattern (numpy from Debian's python3).
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
for name, shape in [("cnn8", (8, 8, 8, 1)), ("cnn32", (2, 32, 32, 3)), ("mbv2", (1, 96, 96, 3)), ("mlp", (8, 64))]:
    n = int(np.prod(shape))
    np.save(f"{sys.argv[1]}/{name}_x.npy", (np.sin(np.arange(n, dtype=np.float64) * 0.37) * 0.8).astype(np.float32).reshape(shape))
PY

for model in mlp cnn8 cnn32 mbv2; do
  "$tool" build-model "$model" --seed 7 -o "$work/$model.pfb" > /dev/null
  digest "$model.pfb" "$work/$model.pfb"
done
for backend in $backends; do
  for model in mlp cnn8 cnn32 mbv2; do
    "$tool" run "$work/$model.pfb" -i "$work/${model}_x.npy" -o "$work/out.npy" --backend "$backend" --threads 1 > /dev/null
    digest "$model run --backend $backend" "$work/out.npy"
  done
done
for backend in $backends; do
  for model in mlp cnn8; do
    "$tool" train "$work/$model.pfb" --data data/digits.csv.gz --scale 0.0625 --epochs 1 --lr 0.003 \
      --backend "$backend" --threads 1 --out "$work/trained.pfb" > /dev/null
    digest "$model train --backend $backend" "$work/trained.pfb"
  done
done
for name in mlp cnn8 resnet mbv2 layernorm; do
  fixture=tests/fixtures/onnx/$name
  "$tool" convert "$fixture.onnx" -o "$work/$name.pfb" > /dev/null
  digest "$name.onnx converted" "$work/$name.pfb"
  for backend in $backends; do
    "$tool" run "$work/$name.pfb" -i "${fixture}_x.npy" -o "$work/out.npy" --backend "$backend" --threads 1 > /dev/null
    digest "$name.onnx run --backend $backend" "$work/out.npy"
  done
done
