#!/usr/bin/env bash
# SPIN and modelcheck side by side on the lazy-MMU benchmark model (docs/benchmarks.md,
# "Side by side with SPIN"). Prints a markdown table.
#
#   Benchmarks/spin/side-by-side.sh [C/P/E/R[/B] ...]    (default: 3/1/3/2 3/2/1/2 3/1/4/3)
#
# For each size (NCPU/NPT/NPTE/ROUNDS[/BATCH], BATCH default 2) it runs
#   SPIN POR  the Promela model (promela.sh), spin -a, gcc -O2 -DSAFETY, pan (default
#             partial-order reduction)
#   SPIN NR   the same with -DNOREDUCE (the full interleaving graph)
#   mc atomic modelcheck on spec-atomic.sh (SPIN's atomicity: the same graph as SPIN NR)
#   mc natural modelcheck on spec-natural.sh (the machine's own atomicity and properties)
# one modelcheck row per flag set of MODELCHECK_MODES, each measured end to end (generation,
# compilation and search) with /usr/bin/time -f '%e %M'.
#
# Environment:
#   MODELCHECK_MODES  ';'-separated modelcheck flag sets, "default" = no flags (partial-order
#                     and symmetry reduction on); default: "default;--no-por --no-symmetry"
#                     (the atomic spec's unreduced row must have SPIN NR's state count)
#                     A flag set modelcheck rejects gives an error row, not a failure.
#   MODELCHECK_FLAGS  flags added to every modelcheck run (e.g. --max-memory 8G)
#   NATURAL_MAX_TIME  --max-time of the natural rows (default 300s; the natural model is
#                     much larger than SPIN's at the bigger sizes; a stopped run is reported
#                     as incomplete with the states it reached)
#   MODELCHECK, SPIN_W, MEMLIM, SPIN_WORK: see common.sh
# Installs nothing; needs spin, gcc, /usr/bin/time and a release build of modelcheck.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
need_tools spin gcc
[ -x /usr/bin/time ] || { echo "$0: /usr/bin/time (GNU time) is not installed" >&2; exit 2; }

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(3/1/3/2 3/2/1/2 3/1/4/3)
IFS=';' read -r -a modes <<< "${MODELCHECK_MODES:-default;--no-por --no-symmetry}"
extra=${MODELCHECK_FLAGS:-}
natural_time=${NATURAL_MAX_TIME:-300s}
work=${SPIN_WORK:-$(mktemp -d)}

fmt() { awk -v x="$1" 'BEGIN { if (x == "" || x == "?") print "-"; else printf "%.2f", x }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
bps() { awk -v k="$1" -v n="$2" 'BEGIN { if (n + 0 > 0) printf "%.0f", k * 1024 / n; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
group() { echo "$1" | sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\| \)/\1 \2\3/;ta'; }

echo "Side by side: SPIN and modelcheck on the lazy-MMU benchmark model"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "- $(spin -V | head -1); $(gcc --version | head -1); $("$MODELCHECK" --version 2>&1 | head -1)"
echo "- pan: gcc -O2 -DMEMLIM=$MEMLIM -DSAFETY [-DNOREDUCE], pan -m1000000 -wW (W per row);" \
  "modelcheck --no-traces --no-progress $extra"
echo "- seconds and peak RSS are end to end (generation + spin -a + gcc + pan; generation +" \
  "modelcheck); 'search s' is what pan or modelcheck reports for the search alone"
echo
echo "| size | tool / mode | states | transitions | verdict | search s | seconds | peak MiB | B/state | mc s / POR s | mc s / NR s | states/s vs NR |"
echo "|---|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|"
for s in "${sizes[@]}"; do
  IFS=/ read -r c p e r b <<< "$s"
  b=${b:-2}
  size="$c/$p/$e/$r/$b"
  wp=$(spin_w 0)
  read -r ps pt perr psearch pwall ppeak <<< \
    "$(spin_run "$work/por" "-DSAFETY" "$wp" "$c" "$p" "$e" "$r" "$b")"
  pv=$([ "$perr" = 0 ] && echo "no error" || echo "errors: $perr")
  echo "| $size | SPIN POR (-w$wp) | $(group "$ps") | $(group "$pt") | $pv | $(fmt "$psearch") |" \
    "$(fmt "$pwall") | $(mib "$ppeak") | $(bps "$ppeak" "$ps") | - | - | - |"
  wn=$(spin_w $((3 * ${ps:-0})))
  read -r ns nt nerr nsearch nwall npeak <<< \
    "$(spin_run "$work/nr" "-DSAFETY -DNOREDUCE" "$wn" "$c" "$p" "$e" "$r" "$b")"
  nv=$([ "$nerr" = 0 ] && echo "no error" || echo "errors: $nerr")
  echo "| $size | SPIN NR (-DNOREDUCE, -w$wn) | $(group "$ns") | $(group "$nt") | $nv |" \
    "$(fmt "$nsearch") | $(fmt "$nwall") | $(mib "$npeak") | $(bps "$npeak" "$ns") | - | - | 1.00 |"
  nrate=$(ratio "$ns" "$nwall")
  for kind in atomic natural; do
    for mode in "${modes[@]}"; do
      flags=$([ "$mode" = default ] && echo "" || echo "$mode")
      label="mc $kind ($mode)"
      more=""
      [ $kind = natural ] && more="--max-time $natural_time"
      # shellcheck disable=SC2086
      read -r ms mt mv msearch mwall mpeak <<< \
        "$(mc_run "$here/spec-$kind.sh" "$extra $flags $more" "$c" "$p" "$e" "$r" "$b")"
      case $mv in
        as_expected) verdict=pass ;;
        incomplete) verdict="incomplete (stopped)" ;;
        differs) verdict="DIFFERS from expect" ;;
        *) verdict="${mv//_/ }" ;;
      esac
      if [[ $mv == error:* ]]; then
        echo "| $size | $label | - | - | $verdict | - | $(fmt "$mwall") | - | - | - | - | - |"
        continue
      fi
      eq="-"
      if [ $kind = atomic ]; then
        eq=$(ratio "$(ratio "$ms" "$mwall")" "$nrate")
        # Without the reductions the graph is SPIN NR's, state for state.
        if [[ $mode == *--no-por* && $mode == *--no-symmetry* ]] && [ "$ms" != "$ns" ]; then
          verdict="$verdict, STATES DIFFER FROM SPIN NR"
        fi
      fi
      echo "| $size | $label | $(group "$ms") | $(group "$mt") | $verdict | $(fmt "$msearch") |" \
        "$(fmt "$mwall") | $(mib "$mpeak") | $(bps "$mpeak" "$ms") | $(ratio "$mwall" "$pwall") |" \
        "$(ratio "$mwall" "$nwall") | $eq |"
    done
  done
done
[ -n "${SPIN_WORK:-}" ] || rm -rf "$work"
