#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (built by the `fuzz` preset: clang 14, ASan + UBSan),
# each seeded with every valid file of its kind in the repository, and fails on the first finding
# (a crash, a sanitizer report, a leak, a timeout or an out-of-memory), leaving the input that
# caused it in build-fuzz/findings/. docs/reliability.md records the long runs.
#
#   bash tests/fuzz/run.sh [SECONDS_EACH]          bounded runs (CI: 30 s each)
#   bash tests/fuzz/run.sh --runs N [TARGET...]    N executions of each target (the long runs)
#
# Builds the four targets first (cmake --preset fuzz: the libraries and the targets, nothing
# else). The reference models for the seeds come from a `preflight` already built (build-ci or
# build; else the fuzz build makes one).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=30
runs=""
if [ "${1:-}" = "--runs" ]; then
  runs="$2"
  shift 2
elif [ $# -gt 0 ]; then
  seconds="$1"
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model_fuzz checkpoint_fuzz data_fuzz onnx_fuzz)
build=build-fuzz

cmake --preset fuzz > /dev/null
cmake --build "$build" --target model_fuzz checkpoint_fuzz data_fuzz onnx_fuzz
tool=""
for candidate in build-ci/preflight build/preflight; do
  [ -x "$candidate" ] && { tool=$candidate; break; }
done
if [ -z "$tool" ]; then
  cmake --build "$build" --target preflight
  tool="$build/preflight"
fi

# Seed corpora: every valid file of each kind in the repo (the fixtures, the bundled data, the
# reference models as the command line writes them).
corpus="$build/corpus"
rm -rf "$corpus"
mkdir -p "$corpus"/{model_fuzz,checkpoint_fuzz,data_fuzz,onnx_fuzz} "$build/findings"
for m in mlp cnn8 cnn32 mbv2; do
  "$tool" build-model "$m" -o "$corpus/model_fuzz/$m.pfb" > /dev/null
  "$tool" build-model "$m" --train -o "$corpus/model_fuzz/${m}_train.pfb" > /dev/null
done
find . -name '*.pfb' -not -path './build*' -exec cp {} "$corpus/model_fuzz/" \;
PREFLIGHT_FUZZ_WRITE_SEED="$corpus/checkpoint_fuzz/mlp.pfc" "$build/checkpoint_fuzz" > /dev/null 2>&1
i=0
while IFS= read -r -d '' file; do  # the data files, each prefixed with its format byte
  case "$file" in
    *.npy) format='\x00' ;; *.npz) format='\x01' ;; *.csv) format='\x02' ;; *.csv.gz) format='\x03' ;; *) continue ;;
  esac
  { printf "$format"; cat "$file"; } > "$corpus/data_fuzz/seed$((i++))"
done < <(find data tests/fixtures -type f \( -name '*.npy' -o -name '*.npz' -o -name '*.csv' -o -name '*.csv.gz' \) -print0)
find tests/fixtures -name '*.onnx' -exec cp {} "$corpus/onnx_fuzz/" \;

status=0
for target in "${targets[@]}"; do
  seeds=$(ls "$corpus/$target" | wc -l)
  limit=(-max_total_time="$seconds")
  [ -n "$runs" ] && limit=(-runs="$runs")
  log="$build/findings/$target.log"
  echo "== $target: $seeds seed files, ${runs:+$runs runs}${runs:-$seconds s}"
  # A fresh working corpus each run: the seeds are the repo's files, never earlier findings.
  work="$build/work/$target"
  rm -rf "$work"
  mkdir -p "$work"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$build/$target" "$work" "$corpus/$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
     -artifact_prefix="$build/findings/$target-" -print_final_stats=1 > "$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "   $execs executions ($rate/s), no finding"
  else
    echo "   FINDING (log: $log):"
    grep -m1 -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" || tail -5 "$log"
    grep "Test unit written" "$log" || true
    status=1
  fi
done
exit $status
