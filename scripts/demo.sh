#!/usr/bin/env bash
# The main job on the bundled default (README.md): installs the dependencies, builds preflight
# and runs `preflight check` on the bundled digits with the bundled ConvNet (cnn8): the recipe's
# data and skeleton checks, a verdict table, and build/preflight-report/ with report.json,
# report.html (open it in a browser) and the evidence images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default
cmake --build --preset default --target preflight
./build/preflight check --out build/preflight-report
