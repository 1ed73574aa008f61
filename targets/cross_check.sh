#!/usr/bin/env bash
# Cross-builds the embedded profile for aarch64, armhf and riscv64 (Debian's cross g++), runs the
# device example under qemu-user, and checks that each prints exactly what the x86-64 build of the
# same program prints (the reference backend, one thread: the same bits). Also checks that a
# selective, inference-only build refuses a training model naming the op it lacks. CI runs it.
#   bash targets/cross_check.sh [NATIVE_BUILD_DIR] [TARGET...]     TARGET: aarch64 armhf riscv64
set -euo pipefail
cd "$(dirname "$0")/.."
native=${1:-build}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(aarch64 armhf riscv64)
[[ -x $native/preflight ]] || { echo "cross_check: no $native/preflight: build natively first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$work/cnn8_train.pfb
"$native/preflight" build-model cnn8 --train --batch 8 -o "$model" > /dev/null
"$native/preflight" build-model cnn8 --batch 8 -o "$work/cnn8.pfb" > /dev/null
ops=$("$native/preflight" ops-for "$model")

build() {  # DIR TOOLCHAIN_ARGS... : the embedded profile with the example
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" -DPREFLIGHT_EMBEDDED=ON -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DPREFLIGHT_EMBED_MODEL="$model" "-DPREFLIGHT_OPS=$ops" > /dev/null
  cmake --build "$dir" > /dev/null
}

build "$work/x86_64"
"$work/x86_64/targets/example/preflight_device_example" > "$work/x86_64.txt"
grep -q "ok: the loss fell" "$work/x86_64.txt"
status=0
for target in "${targets[@]}"; do
  case $target in
    aarch64) triple=aarch64-linux-gnu qemu=qemu-aarch64 ;;
    armhf) triple=arm-linux-gnueabihf qemu=qemu-arm ;;
    riscv64) triple=riscv64-linux-gnu qemu=qemu-riscv64 ;;
    *) echo "cross_check: unknown target $target (aarch64, armhf, riscv64)" >&2; exit 2 ;;
  esac
  build "$work/$target" --toolchain "targets/$triple.cmake"
  "$qemu" "$work/$target/targets/example/preflight_device_example" > "$work/$target.txt" || true
  if diff -u "$work/x86_64.txt" "$work/$target.txt" > "$work/$target.diff"; then
    echo "cross_check: $target: the device example under $qemu prints exactly what x86-64 prints ($(grep -c train_step "$work/$target.txt") training steps)"
  else
    echo "cross_check: $target: output differs from x86-64:" >&2
    cat "$work/$target.diff" >&2
    status=1
  fi
done

# A selective inference-only build (cnn8's infer ops, no backward kernels) refuses the training
# model with an error naming what it lacks, and runs the inference model.
cmake -S . -B "$work/selective" -G Ninja --toolchain targets/aarch64-linux-gnu.cmake -DPREFLIGHT_EMBEDDED=ON \
  -DCMAKE_BUILD_TYPE=MinSizeRel "-DPREFLIGHT_OPS=$("$native/preflight" ops-for "$work/cnn8.pfb")" -DPREFLIGHT_TRAINING=OFF > /dev/null
cmake --build "$work/selective" --target preflight_size_probe > /dev/null
probe=$work/selective/targets/example/preflight_size_probe
if qemu-aarch64 "$probe" < "$model" > "$work/refused.txt"; then
  echo "cross_check: the inference-only build accepted a training model" >&2
  status=1
elif ! grep -q "op SoftmaxCrossEntropy is not in this build" "$work/refused.txt"; then
  echo "cross_check: unexpected refusal: $(cat "$work/refused.txt")" >&2
  status=1
else
  echo "cross_check: the inference-only aarch64 build refuses the training model: $(cat "$work/refused.txt")"
fi
qemu-aarch64 "$probe" < "$work/cnn8.pfb" | grep -q "infer: ok" || { echo "cross_check: the inference build did not run cnn8" >&2; status=1; }
exit $status
