# Shared by the scripts of this folder (sourced, not run).
#
# Environment: MODELCHECK (the binary; default .build/release/modelcheck of this checkout),
# SPIN_WORK (scratch folder for pan; default a fresh mktemp -d), MEMLIM (pan's memory
# bound in MB, default 12000), SPIN_W (pan's -w hash-table size; default chosen from the
# state count, see spin_w).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MODELCHECK=${MODELCHECK:-$root/.build/release/modelcheck}
MEMLIM=${MEMLIM:-12000}

# size_args NCPU NPT NPTE ROUNDS [BATCH]: the generators' arguments into ncpu, npt, npte,
# rounds and batch (default 2), or a usage error (exit 2).
size_args() {
  if [ $# -lt 4 ] || [ $# -gt 5 ]; then
    echo "usage: $0 NCPU NPT NPTE ROUNDS [BATCH]" >&2
    exit 2
  fi
  ncpu=$1 npt=$2 npte=$3 rounds=$4 batch=${5:-2}
  local x
  for x in "$ncpu" "$npt" "$npte" "$rounds" "$batch"; do
    [[ $x =~ ^[1-9][0-9]*$ ]] || { echo "$0: parameters must be positive integers" >&2; exit 2; }
  done
}

need_tools() {
  local t missing=0
  for t in "$@"; do
    if ! command -v "$t" > /dev/null 2>&1; then
      echo "$0: '$t' is not installed (SPIN: the Debian/Ubuntu package 'spin'; gcc: 'gcc')" >&2
      missing=1
    fi
  done
  if [ ! -x "$MODELCHECK" ]; then
    echo "$0: no modelcheck binary at $MODELCHECK (run 'swift build -c release' or set MODELCHECK)" >&2
    missing=1
  fi
  [ $missing -eq 0 ] || exit 2
}

# Seconds with two decimals between two `date +%s.%N` readings.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# pan's -w for about N states: 24 (pan's default) up to 2^24 states, else one bit more than
# N needs (a table of at least 2N slots), at most 29.
spin_w() {
  local n=$1 w=24
  if [ -n "${SPIN_W:-}" ]; then echo "$SPIN_W"; return; fi
  while [ $((1 << w)) -lt "$n" ] && [ $w -lt 28 ]; do w=$((w + 1)); done
  [ $w -gt 24 ] && w=$((w + 1))
  echo $w
}

# spin_run DIR "CC_FLAGS" W NCPU NPT NPTE ROUNDS BATCH
# Generates the Promela model, runs spin -a, gcc -O2 and pan in DIR (fresh), and prints
#   states transitions errors pan_seconds wall_seconds peak_kib
# (wall: generation + spin -a + gcc + pan; peak: the largest of their peak RSS).
spin_run() {
  local dir=$1 ccf=$2 w=$3
  shift 3
  rm -rf "$dir"
  mkdir -p "$dir"
  local t0 t1 peak=0 m
  t0=$(date +%s.%N)
  "$here/promela.sh" "$@" > "$dir/model.pml"
  (cd "$dir" && /usr/bin/time -o time.spin -f '%M' spin -a model.pml > spin.log 2>&1) || {
    echo "$0: spin -a failed, see $dir/spin.log" >&2
    return 1
  }
  # shellcheck disable=SC2086
  (cd "$dir" && /usr/bin/time -o time.cc -f '%M' gcc -O2 -w -DMEMLIM=$MEMLIM $ccf -o pan pan.c \
    > cc.log 2>&1) || {
    echo "$0: gcc failed, see $dir/cc.log" >&2
    return 1
  }
  (cd "$dir" && /usr/bin/time -o time.pan -f '%M' ./pan -m1000000 -w"$w" > pan.out 2>&1) || true
  t1=$(date +%s.%N)
  for m in "$dir"/time.spin "$dir"/time.cc "$dir"/time.pan; do
    m=$(tail -1 "$m")
    [ "$m" -gt "$peak" ] && peak=$m
  done
  local states trans errors pans
  states=$(awk '/states, stored/ { print $1; exit }' "$dir/pan.out")
  # pan prints counts with 8 significant digits (%g): above 99,999,999 in e-notation. The
  # transitions are stored + matched; when one of those is inexact too, the figure is
  # marked with a leading '~'.
  trans=$(awk '/states, stored/ { s = $1 } /states, matched/ { m = $1 }
    END { printf "%s%.0f\n", (s ~ /^[0-9]+$/ && m ~ /^[0-9]+$/) ? "" : "~", s + m }' \
    "$dir/pan.out")
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$dir/pan.out" | head -1)
  pans=$(awk '/elapsed time/ { print $4; exit }' "$dir/pan.out")
  if grep -q "max search depth too small\|reached -DMEMLIM bound\|out of memory" "$dir/pan.out"; then
    errors="incomplete"
  fi
  echo "${states:-?} ${trans:-?} ${errors:-?} ${pans:-?} $(elapsed "$t0" "$t1") $peak"
}

# mc_run SPEC_GENERATOR "FLAGS" NCPU NPT NPTE ROUNDS BATCH
# Generates the spec and runs modelcheck on it; prints
#   states transitions verdict search_seconds wall_seconds peak_kib
# (wall: generation + the whole modelcheck run; search: the time modelcheck reports for the
# state-space search; verdict: as_expected, differs, incomplete, or error:MESSAGE).
mc_run() {
  local gen=$1 flags=$2 dir
  shift 2
  dir=$(mktemp -d)
  local t0 t1
  t0=$(date +%s.%N)
  "$gen" "$@" > "$dir/model.spec"
  # shellcheck disable=SC2086
  /usr/bin/time -o "$dir/time" -f '%M' "$MODELCHECK" --no-traces --no-progress $flags \
    "$dir/model.spec" > "$dir/out" 2> "$dir/err" || true
  t1=$(date +%s.%N)
  local line states trans verdict peak search
  line=$(grep -E '^ +[0-9,]+ states, [0-9,]+ transitions' "$dir/out" | head -1 || true)
  states=$(echo "$line" | awk '{ gsub(",", "", $1); print $1 }')
  trans=$(echo "$line" | awk '{ gsub(",", "", $3); print $3 }')
  search=$(echo "$line" | sed -n 's/.*depth [0-9,]*, \([0-9.]*\) s,.*/\1/p')
  peak=$(tail -1 "$dir/time")
  if grep -q "1 as expected" "$dir/out"; then
    verdict=as_expected
  elif grep -q "1 differ" "$dir/out"; then
    verdict=differs
  elif grep -q "1 incomplete" "$dir/out"; then
    verdict=incomplete
  else
    verdict="error:$( (grep -h -m1 -i 'error' "$dir/err" "$dir/out" || echo unknown) | head -1 \
      | sed 's/^modelcheck: error: //' | tr -s ' ' '_' | tr -d '|' | cut -c1-70)"
  fi
  rm -rf "$dir"
  echo "${states:-?} ${trans:-?} $verdict ${search:-?} $(elapsed "$t0" "$t1") ${peak:-0}"
}
