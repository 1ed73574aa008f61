#!/usr/bin/env bash
# The main job on the bundled default (README.md): installs the dependencies, builds preflight,
# writes the digits ConvNet (cnn8) as a .pfb, inspects it and runs it on the first 8 digits of
# the bundled digits data. The weights are freshly initialised (training arrives with `preflight
# check`), so the predicted classes are not yet the labels.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default
cmake --build --preset default --target preflight
mkdir -p build/demo
./build/preflight build-model cnn8 --seed 0 -o build/demo/cnn8.pfb
./build/preflight inspect build/demo/cnn8.pfb
./build/preflight run build/demo/cnn8.pfb --input tests/fixtures/digits8.npy --output build/demo/logits.npy
./build/preflight run build/demo/cnn8.pfb --input tests/fixtures/digits8.npy
echo "labels of these 8 digits: 0 1 2 3 4 5 6 7"
