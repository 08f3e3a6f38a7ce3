#!/usr/bin/env bash
# Mutation testing: applies each mutant of scripts/mutation/mutants.txt, one at a time, to
# a work copy of the tree, rebuilds, runs `swift test`, and prints the survivors and the
# score. The real tree is never modified. Options: --check (stale snippets only, no
# build), --only id1,id2, --specs (also run the spec directory), --work DIR.
# See scripts/mutation/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/mutation/mutate.py "$@"
