#!/usr/bin/env bash
# The time of `preflight check` with no arguments (the bundled cnn8 on the bundled digits), pinned
# to one core, as the median of N runs (default 5). The target (the recipe issue): under 60 s.
# usage: bash bench/check_time.sh [PREFLIGHT_BINARY] [RUNS]
set -euo pipefail
binary=${1:-build/preflight}
runs=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
times=()
for ((i = 0; i < runs; ++i)); do
  start=$(date +%s.%N)
  taskset -c 0 "$binary" check --out "$out/report" > "$out/log" || { cat "$out/log"; exit 1; }
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc -l)")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
printf 'preflight check (bundled cnn8 + digits), one core, %d runs: median %.2f s (runs: %s); target 60 s, ratio %.3f\n' \
  "$runs" "$median" "$(printf '%.2f ' "${times[@]}")" "$(echo "$median / 60" | bc -l)"
