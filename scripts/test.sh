#!/usr/bin/env bash
# The test command (README.md): installs the dependencies, configures, builds and runs every test.
# Under CI (CI=true) warnings are errors. Extra arguments go to ctest (e.g. -R ops_test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# install-deps.sh installed PoCL (an OpenCL device on the CPU): the OpenCL tests must run on it.
export PREFLIGHT_REQUIRE_OPENCL="${PREFLIGHT_REQUIRE_OPENCL:-1}"
preset=default
if [ "${CI:-}" = "true" ]; then preset=ci; fi
cmake --preset "$preset"
cmake --build --preset "$preset"
ctest --preset "$preset" "$@"
