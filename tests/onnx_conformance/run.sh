#!/usr/bin/env bash
# Runs the ONNX backend node tests of the imported ops and prints every case (pass / fail /
# unsupported with the reason) and the totals; exits non-zero when a case fails.
# usage: bash tests/onnx_conformance/run.sh [BUILD_DIR]    (default: build, after a build)
set -uo pipefail
build=${1:-build}
"$build/tests/graph_test" -tc="onnx conformance*" > "$build/tests/onnx_conformance.log" 2>&1
status=$?
report="$build/tests/output_onnx_conformance.md"
if [ ! -f "$report" ]; then
  cat "$build/tests/onnx_conformance.log"
  exit 1
fi
cat "$report"
exit $status
