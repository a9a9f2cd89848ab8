#!/usr/bin/env bash
# Generation overhead: the time to generate every demo aggregate report (release binary) against
# running the very same compiled SQL statements bare, in the same process, on the same warehouse,
# in the same run (`almanac-bench bench-generation`, a separate binary: it captures every statement
# one real generation runs, then alternates timing the bare statements, with the same
# parallelism, and full generations). At the default scale (2,000,000 events) and at scale 10
# (20,000,000 events). Target: overhead <= 15% at both.
#
# When the target is missed (or PERF=1), `perf record -g` of one `almanac generate --all` at the
# default scale shows where the time goes (PERF=0 never profiles).
#
# Environment: RUNS1 (default 3, default scale), RUNS10 (default 2, scale 10), SCALES ("1 10"),
# PARALLELISM (2), DATA_DIR (Benchmarks/.data: the demo warehouses are kept there and reused),
# AS_OF (2026-11-25), PERF, REBUILD=1, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

RUNS1="${RUNS1:-3}"
RUNS10="${RUNS10:-2}"
SCALES="${SCALES:-1 10}"
PARALLELISM="${PARALLELISM:-2}"

say "generation-overhead benchmark: scales $SCALES, as-of $AS_OF, parallelism $PARALLELISM"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-generation-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

cases=()
for scale in $SCALES; do
    demo_warehouse "$scale"
    runs="$RUNS1"; [ "$scale" = 1 ] || runs="$RUNS10"
    cases+=(--case "$scale:$WAREHOUSE:$runs")
done

say "timing: almanac-bench bench-generation per scale (bare SQL and generation alternate within one process)"
python3 "$HERE/bench_helper.py" generation-bench --repo "$REPO" --almanac "$ALMANAC_BENCH" --catalog "$REPO/Catalog" \
    --web "$REPO/Web" --as-of "$AS_OF" --parallelism "$PARALLELISM" --target 15 --summary "$WORK/summary.json" \
    "${cases[@]}"

met=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["met"]))' "$WORK/summary.json")
if [ "${PERF:-auto}" = 1 ] || { [ "${PERF:-auto}" = auto ] && [ "$met" = 0 ]; }; then
    if ensure_perf; then
        demo_warehouse 1
        say "perf record -g of one 'almanac generate --all' at the default scale (where the time goes)"
        (cd "$REPO" && perf record -q -g -F 999 -o "$WORK/perf.data" "$ALMANAC" generate --all \
            --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$WORK/state.sqlite" \
            --artifacts "$WORK/artifacts" --as-of "$AS_OF" --web "$REPO/Web" >/dev/null 2>"$WORK/perf.log") \
            || { tail -20 "$WORK/perf.log"; die "perf record failed"; }
        echo
        echo "Inclusive share of all samples (both cores), hottest functions ('children' = itself + callees):"
        perf report -i "$WORK/perf.data" --children --sort symbol -g none --percent-limit 2 --stdio 2>/dev/null \
            | grep '%' | sed -E 's/[[:space:]]+$//' | { swift demangle --simplified 2>/dev/null || cat; } \
            | cut -c1-160 | head -70 || true
        echo
        echo "Self time by shared object (what runs: SQLite, Swift runtime, the binary, the kernel):"
        perf report -i "$WORK/perf.data" --no-children --sort dso -g none --percent-limit 1 --stdio 2>/dev/null \
            | grep '%' | head -15 || true
        echo
    else
        say "perf is not available: no profile"
    fi
fi
say "removed $WORK (the demo warehouses stay in ${DATA_DIR:-$HERE/.data}; delete that folder to free the space)"
