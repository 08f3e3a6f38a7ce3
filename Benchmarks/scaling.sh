#!/usr/bin/env bash
# How `--threads N` scales on this machine, and what the machine itself allows at the time.
#
#   Benchmarks/scaling.sh RUNS SPEC [N] [BINARY]     (N default 2; BINARY default the
#                                                    release build)
#
# Each of RUNS rounds runs, one after another:
#   alone     BINARY --threads 1 SPEC
#   parallel  BINARY --threads N SPEC
#   N at once N copies of `BINARY --threads 1 SPEC` started together
# and keeps the fastest exploration of each (the `depth D, S s` figure: the search alone).
#
# The search's speedup is alone / parallel. The machine's ceiling is what N independent
# one-thread searches get at once: N * alone / together, where together is the fastest
# round's slowest of the N (so both sides are the best the machine gave). On a quiet N-core
# machine it is N; on a shared VM whose cores are taken from it now and then it is less,
# and moves between rounds, so the speedup is read against it: a search cannot scale past
# what N independent copies of itself get.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,18p "$0" >&2; exit 2; }
runs=$1 spec=$2 n=${3:-2}
bin=${4:-$(dirname "$0")/../.build/release/modelcheck}
[ -x "$bin" ] || { echo "$0: no binary at $bin (swift build -c release)" >&2; exit 2; }

explore() { grep -oE 'depth [0-9]+, [0-9.]+ s' | awk '{print $3}'; }
run() { "$bin" --threads "$1" --no-traces --no-progress "$spec" 2>&1 | explore; }
least() { awk -v a="$1" -v b="$2" 'BEGIN {print (b < a ? b : a)}'; }

alone=999999 parallel=999999 together=999999
for _ in $(seq "$runs"); do
  alone=$(least "$alone" "$(run 1)")
  parallel=$(least "$parallel" "$(run "$n")")
  out=$(mktemp -d)
  for k in $(seq "$n"); do run 1 > "$out/$k" & done
  wait
  together=$(least "$together" "$(cat "$out"/* | sort -g | tail -1)")
  rm -r "$out"
done
awk -v a="$alone" -v p="$parallel" -v t="$together" -v n="$n" 'BEGIN {
  c = n * a / t
  printf "threads 1: %.2f s   threads %d: %.2f s   speedup %.2fx   ", a, n, p, a / p
  printf "%d at once: %.2f s   machine ceiling %.2fx   speedup / ceiling %.2f\n", n, t, c, a / p / c
}'
