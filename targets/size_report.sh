#!/usr/bin/env bash
# Stripped sizes of what a device program links of preflight, aarch64, -Os (MinSizeRel), static:
#   core       the runtime with no op at all (load, verify, plan, run; PREFLIGHT_OPS=none)
#   inference  the runtime plus the ops of cnn8's infer method, no backward kernels
#   training   the runtime plus every op of cnn8 exported for training, with backward kernels
# Each is targets/example/size_probe.cc linked against that device library, minus the same
# program built without preflight (the C library's share); sizes are text + data as `size` counts
# them in the stripped programs. Needs a native build (for the models and
# `preflight ops-for`) and Debian's g++-aarch64-linux-gnu; writes docs/size.md with --write.
#   bash targets/size_report.sh [NATIVE_BUILD_DIR] [--write] [--check]
# --check: exit 1 when a size is over its budget (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
native=build
write=0
check=0
for arg in "$@"; do
  case $arg in
    --write) write=1 ;;
    --check) check=1 ;;
    *) native=$arg ;;
  esac
done
[[ -x $native/preflight ]] || { cmake --preset default > /dev/null && cmake --build "$native" --target preflight > /dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$native/preflight" build-model cnn8 -o "$work/cnn8.pfb" > /dev/null
"$native/preflight" build-model cnn8 --train -o "$work/cnn8_train.pfb" > /dev/null

measure() {  # NAME OPS TRAINING -> prints "bytes"
  local dir=$work/$1
  cmake -S . -B "$dir" -G Ninja --toolchain targets/aarch64-linux-gnu.cmake -DPREFLIGHT_EMBEDDED=ON \
    -DCMAKE_BUILD_TYPE=MinSizeRel "-DPREFLIGHT_OPS=$2" -DPREFLIGHT_TRAINING="$3" > /dev/null
  cmake --build "$dir" --target preflight_size_probe preflight_size_baseline > /dev/null
  # text + data of the stripped programs (the file sizes themselves move in 64 KB steps: aarch64
  # aligns segments to 64 KB pages); bss is not in the image.
  local probe baseline
  probe=$(aarch64-linux-gnu-strip -o /dev/stdout "$dir/targets/example/preflight_size_probe" > "$dir/probe" &&
          aarch64-linux-gnu-size "$dir/probe" | awk 'NR == 2 { print $1 + $2 }')
  baseline=$(aarch64-linux-gnu-strip -o /dev/stdout "$dir/targets/example/preflight_size_baseline" > "$dir/baseline" &&
             aarch64-linux-gnu-size "$dir/baseline" | awk 'NR == 2 { print $1 + $2 }')
  echo $(( probe - baseline ))
}
core=$(measure core none OFF)
inference_ops=$("$native/preflight" ops-for "$work/cnn8.pfb")
inference=$(measure inference "$inference_ops" OFF)
training_ops=$("$native/preflight" ops-for "$work/cnn8_train.pfb")
training=$(measure training "$training_ops" ON)
# The probes run under qemu: the sizes are of programs that work.
qemu-aarch64 "$work/inference/targets/example/preflight_size_probe" < "$work/cnn8.pfb" | grep -q "infer: ok"
qemu-aarch64 "$work/training/targets/example/preflight_size_probe" < "$work/cnn8_train.pfb" | grep -q "train_step: ok"

kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB (%d bytes)", b / 1000, b }'; }
verdict() { [[ $1 -le $2 ]] && echo "within" || echo "over by $(kb $(( $1 - $2 )))"; }
table=$(cat <<TABLE
| build (aarch64, -Os, static, stripped) | ops | size | budget | |
|---|---|---|---|---|
| core runtime, no kernels | none | $(kb "$core") | 50 KB | $(verdict "$core" 50000) |
| cnn8 inference | ${inference_ops//;/, } | $(kb "$inference") | 150 KB | $(verdict "$inference" 150000) |
| cnn8 with training | ${training_ops//;/, } (+ backward kernels) | $(kb "$training") | 300 KB | $(verdict "$training" 300000) |
TABLE
)
echo "$table"
if [[ $write -eq 1 ]]; then
  {
    echo "# Binary size (\`bash targets/size_report.sh --write\`)"
    echo
    echo "Measured $(date +%Y-%m-%d) with $(aarch64-linux-gnu-g++ --version | head -1). Each size is a static"
    echo "program that loads a model from bytes, opens a session in static memory and runs its methods"
    echo "(targets/example/size_probe.cc), minus the same program without preflight, both stripped (text +"
    echo "data, as \`size\` counts them): what preflight adds to a device binary, its share of libstdc++ and"
    echo "libc included."
    echo
    echo "$table"
  } > docs/size.md.tmp
  mv docs/size.md.tmp docs/size.md
  echo "wrote docs/size.md"
fi
if [[ $check -eq 1 ]] && { [[ $core -gt 50000 ]] || [[ $inference -gt 150000 ]] || [[ $training -gt 300000 ]]; }; then
  echo "size_report: over budget" >&2
  exit 1
fi
