#!/usr/bin/env bash
# Compares two modelcheck binaries on one spec, in alternated runs (a noisy machine drifts
# between runs, so the two are interleaved and the fastest run of each is kept).
#
#   Benchmarks/compare.sh RUNS SPEC THREADS BINARY_A BINARY_B
#
# For each binary: the fastest exploration, liveness pass and wall seconds over RUNS runs
# of `BINARY --threads THREADS --no-traces SPEC`, the pass over the exploration, the least
# CPU seconds (user + system, every thread, end to end; from GNU time, "-" without it: what
# the threads did in all, which a shared machine's stolen cores move less than the wall
# clock), and the last run's peak RSS. Example, the last commit against the working tree:
#
#   git stash && swift build -c release && cp .build/release/modelcheck /tmp/mc-old
#   git stash pop && swift build -c release
#   Benchmarks/compare.sh 5 Benchmarks/workload-default.spec 1 /tmp/mc-old .build/release/modelcheck
set -euo pipefail
[ $# -eq 5 ] || { sed -n 2,15p "$0" >&2; exit 2; }
runs=$1 spec=$2 threads=$3
binaries=("$4" "$5")
declare -A explore pass wall rss cpu
for b in "${binaries[@]}"; do explore[$b]=999999 pass[$b]=999999 wall[$b]=999999 cpu[$b]=-; done
times=$(mktemp)
trap 'rm -f "$times"' EXIT
timed=()
[ -x /usr/bin/time ] && timed=(/usr/bin/time -o "$times" -f '%U %S')
for _ in $(seq "$runs"); do
  for b in "${binaries[@]}"; do
    start=$(date +%s.%N)
    out=$("${timed[@]}" "$b" --threads "$threads" --no-traces --no-progress "$spec" 2>&1 || true)
    end=$(date +%s.%N)
    if [ ${#timed[@]} -gt 0 ]; then
      c=$(awk '{printf "%.2f", $1 + $2}' "$times")
      cpu[$b]=$(awk -v a="${cpu[$b]}" -v b="$c" 'BEGIN {print (a == "-" || b < a ? b : a)}')
    fi
    x=$(grep -oE 'depth [0-9]+, [0-9.]+ s' <<<"$out" | awk '{print $3}')
    l=$(grep -oE 'subgraphs, [0-9.]+ s' <<<"$out" | awk '{print $2}')
    rss[$b]=$(grep -oE 'peak RSS [0-9.]+ [KMG]iB' <<<"$out" | awk '{print $3, $4}')
    explore[$b]=$(awk -v a="${explore[$b]}" -v b="${x:-999999}" 'BEGIN {print (b < a ? b : a)}')
    pass[$b]=$(awk -v a="${pass[$b]}" -v b="${l:-0}" 'BEGIN {print (b < a ? b : a)}')
    wall[$b]=$(awk -v a="${wall[$b]}" -v s="$start" -v e="$end" \
      'BEGIN {w = e - s; printf "%.2f", (w < a ? w : a)}')
  done
done
printf '%-40s %9s %9s %6s %7s %7s %s\n' binary explore liveness ratio wall cpu "peak RSS"
for b in "${binaries[@]}"; do
  ratio=$(awk -v l="${pass[$b]}" -v x="${explore[$b]}" 'BEGIN {if (x > 0) printf "%.2f", l / x; else print "-"}')
  printf '%-40s %9s %9s %6s %7s %7s %s\n' "$b" "${explore[$b]}" "${pass[$b]}" "$ratio" \
    "${wall[$b]}" "${cpu[$b]}" "${rss[$b]}"
done
