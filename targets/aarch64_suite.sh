#!/usr/bin/env bash
# The whole test suite cross-built for aarch64 and run under qemu-aarch64, then the same bits as
# x86-64: a model trained and a model run with the reference backend on one thread, compared byte
# for byte with the native build's. CI runs it (docs/devices.md).
#   bash scripts/install-deps.sh --cross     once: cross g++, qemu-user, the arm64 libraries
#   bash targets/aarch64_suite.sh [NATIVE_BUILD_DIR] [AARCH64_BUILD_DIR]
# The aarch64 build has the reference and XNNPACK backends and the ONNX importer (Debian's arm64
# packages); not oneDNN, which made the emulated suite twice as long (docs/devices.md). Under
# qemu-user the tests run one thread (targets/linux-cross.cmake). The report tests are left out:
# their `preflight check` run took 220 s of the emulated suite's 620, and the report is written by
# code whose results the other tests already compare with x86-64; the tests whose cost is arithmetic
# do less under emulation (test::kEmulated). About 12 minutes on 2 cores (4 of them the build).
set -euo pipefail
cd "$(dirname "$0")/.."
native=${1:-build}
dir=${2:-build-aarch64}
[[ -x $native/preflight ]] || { echo "aarch64_suite: no $native/preflight: build natively first" >&2; exit 2; }
[[ -f build-deps/aarch64-linux-gnu/.packages ]] ||
  { echo "aarch64_suite: no build-deps/aarch64-linux-gnu: run bash scripts/install-deps.sh --cross" >&2; exit 2; }

cmake -S . -B "$dir" -G Ninja --toolchain targets/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DPREFLIGHT_ONNX=ON -DPREFLIGHT_ONEDNN=OFF -DPREFLIGHT_WERROR=ON > /dev/null
cmake --build "$dir"
start=$SECONDS
ctest --test-dir "$dir" --output-on-failure -j2 -E '^report_'
echo "aarch64_suite: the whole suite but the report tests passed under qemu-aarch64 in $((SECONDS - start)) s"

# The same bits as x86-64 (reference backend, one thread): 2 epochs of training the mlp on the
# bundled digits (the trained .pfb byte for byte), and cnn8's logits on 8 digits.
emulator=$(cat "$dir/tests/emulator.txt")  # written by tests/CMakeLists.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$native/preflight" build-model mlp --seed 3 -o "$work/mlp.pfb" > /dev/null
"$native/preflight" build-model cnn8 --batch 8 -o "$work/cnn8.pfb" > /dev/null
status=0
for arch in x86_64 aarch64; do
  tool=("$native/preflight")
  if [[ $arch == aarch64 ]]; then
    # shellcheck disable=SC2206  # the emulator's words
    tool=($emulator "$dir/preflight")
  fi
  "${tool[@]}" train "$work/mlp.pfb" --data data/digits.csv.gz --scale 0.0625 --epochs 2 --lr 0.003 --backend reference \
    --out "$work/mlp_trained_$arch.pfb" > "$work/train_$arch.txt"
  "${tool[@]}" run "$work/cnn8.pfb" -i tests/fixtures/digits8.npy -o "$work/logits_$arch.npy" --backend reference > /dev/null
done
for file in mlp_trained logits; do
  ext=pfb
  [[ $file == logits ]] && ext=npy
  if cmp -s "$work/${file}_x86_64.$ext" "$work/${file}_aarch64.$ext"; then
    echo "aarch64_suite: $file.$ext: the same bytes on aarch64 as on x86-64"
  else
    echo "aarch64_suite: $file.$ext differs between aarch64 and x86-64 (reference backend, one thread)" >&2
    status=1
  fi
done
exit $status
