#!/usr/bin/env bash
# Times `almanac catalog check` (release) on a generated, valid catalog of exactly 10,000 YAML
# files, side by side with PyYAML (CSafeLoader, parse only) and `cat` of the same files.
#
# Environment: FILES (default 10000), RUNS (default 7), KEEP_DATA=1 (keep the catalog in
# Benchmarks/.data/catalog-FILES instead of a temp dir), REBUILD=1, PYTHON, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

FILES="${FILES:-10000}"
RUNS="${RUNS:-7}"

say "catalog-load benchmark: $FILES files, $RUNS timed runs per tool"
machine_summary
ensure_pyyaml
ensure_almanac

if [ "${KEEP_DATA:-0}" = 1 ]; then
    WORK="$HERE/.data"
    mkdir -p "$WORK"
    DATA="$WORK/catalog-$FILES"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-catalog-bench.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    DATA="$WORK/catalog"
fi

say "generating the catalog from $REPO/Catalog into $DATA"
"$PYTHON" "$HERE/bench_helper.py" make-catalog "$REPO/Catalog" "$DATA" --files "$FILES"

say "checking that the generated catalog is valid"
"$ALMANAC" catalog check "$DATA" | tail -1

say "timing (interleaved runs, after one warm-up run of each)"
"$PYTHON" "$HERE/bench_helper.py" catalog-bench --dir "$DATA" --almanac "$ALMANAC" --runs "$RUNS" --target 2

if [ "${KEEP_DATA:-0}" = 1 ]; then say "kept the catalog in $DATA"; else say "removed $WORK"; fi
