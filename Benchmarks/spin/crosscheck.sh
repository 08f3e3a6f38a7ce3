#!/usr/bin/env bash
# Checks that the modelcheck spec at SPIN's atomicity (spec-atomic.sh) has exactly the
# state graph of the Promela model (promela.sh) under SPIN -DSAFETY -DNOREDUCE.
#
#   Benchmarks/spin/crosscheck.sh [C/P/E/R[/B] ...]     (default: 7 small sizes, ~10 s)
#
# For each size it prints SPIN's and modelcheck's state counts and "match"/"MISMATCH", and
# the same for the transition counts, where the two tools count differently:
#   SPIN:       T_spin = 1 + E_sw + NHW * E_hw   (stored + matched; NHW = NCPU hardware
#               processes, each contributing its own copy of every hardware edge E_hw)
#   modelcheck: T_mc   = E_sw + 2 * NPTES * S     (every step applied, self-loops included:
#               each of the 2*NPTES hardware programs takes one step in every state S,
#               a self-loop where SPIN's guard is false)
# E_sw (CPU and hypervisor edges) and E_hw are obtained from a second SPIN run with one
# hardware process less (NHW changes no state), and T_mc is predicted from them.
# Needs spin, gcc and a release build of modelcheck (see common.sh for the environment).
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
need_tools spin gcc

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(2/1/1/1/2 2/1/2/1/2 3/1/2/1/2 2/1/3/1/1 2/2/1/2/2 3/2/1/1/2 2/1/4/2/4)
work=${SPIN_WORK:-$(mktemp -d)}
fail=0
printf '| %-11s | %11s | %11s | %-8s | %12s | %12s | %12s | %-8s |\n' size "SPIN states" "mc states" \
  states "SPIN trans" "mc trans" "predicted" trans
echo "|-------------|------------:|------------:|----------|-------------:|-------------:|-------------:|----------|"
for s in "${sizes[@]}"; do
  IFS=/ read -r c p e r b <<< "$s"
  b=${b:-2}
  read -r ss st serr _ <<< "$(spin_run "$work/nr" "-DSAFETY -DNOREDUCE" 24 "$c" "$p" "$e" "$r" "$b")"
  other=$((c > 1 ? c - 1 : 2))
  read -r _ st2 _ <<< "$(NHW=$other spin_run "$work/nr2" "-DSAFETY -DNOREDUCE" 24 "$c" "$p" "$e" "$r" "$b")"
  read -r ms mt mv _ _ _ <<< \
    "$(mc_run "$here/spec-atomic.sh" "--no-por --no-symmetry" "$c" "$p" "$e" "$r" "$b")"
  ehw=$(((st - st2) / (c - other)))
  esw=$((st - 1 - c * ehw))
  predicted=$((esw + 2 * p * e * ms))
  sm=match
  [ "$ss" = "$ms" ] && [ "$serr" = 0 ] && [ "$mv" = as_expected ] || { sm=MISMATCH; fail=1; }
  tm=match
  [ "$mt" = "$predicted" ] || { tm=MISMATCH; fail=1; }
  printf '| %-11s | %11s | %11s | %-8s | %12s | %12s | %12s | %-8s |\n' "$c/$p/$e/$r/$b" "$ss" "$ms" \
    "$sm" "$st" "$mt" "$predicted" "$tm"
done
[ -n "${SPIN_WORK:-}" ] || rm -rf "$work"
exit $fail
