#!/usr/bin/env bash
# Two release builds side by side, alternating in one run: a refactoring that changes no
# feature (issue 19) must hold dashboard serving, search and generation. BEFORE is the other
# build's `almanac` (its benchmark commands are in the same binary before the AlmanacBench split,
# or in BEFORE_BENCH); the current build is REPO/.build-release (almanac and almanac-bench).
#
# Per build and round (the builds alternate: before, after, before, after, …):
#   generation   bench-generation on the demo warehouse at scale 1 (every report, median of
#                GEN_RUNS rounds, against the same SQL run bare)
#   search       bench-search over the search harness's 100,000 entries and 400 queries (p50/p99
#                of the in-process query, SEARCH_REPEATS repeats)
#   serving      `almanac serve` on the demo (generate --all first, into its own folder), then
#                wrk -t2 -c64 for DURATION s after a WARMUP s warm-up, 5,000 distinct readers
#                (readers-wrk.lua, users from company_load.py prepare): the report page
#                /reports/growth-overview, the home page, and /api/search over the demo's queries
# wrk and the portal share the machine's cores, as in readers.sh.
#
#   BEFORE=/path/to/almanac Benchmarks/before-after.sh
# Environment: BEFORE (required), BEFORE_BENCH (default BEFORE), ROUNDS (2), DURATION (15),
# WARMUP (5), GEN_RUNS (3), SEARCH_REPEATS (5), READERS (5000), READER_SEED (17), SKIP_SERVING=1,
# SKIP_SEARCH=1, SKIP_GENERATION=1. Raw output: Benchmarks/.data/results/before-after-<time>/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

[ -n "${BEFORE:-}" ] && [ -x "$BEFORE" ] || die "set BEFORE to the other build's almanac binary"
BEFORE_BENCH="${BEFORE_BENCH:-$BEFORE}"
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-5}"
GEN_RUNS="${GEN_RUNS:-3}"
SEARCH_REPEATS="${SEARCH_REPEATS:-5}"
READERS="${READERS:-5000}"
READER_SEED="${READER_SEED:-17}"   # not SEED: search_harness reads that as its catalog seed (42)

machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_pyyaml
ensure_almanac
check_user_agent
AFTER="$ALMANAC"
AFTER_BENCH="$ALMANAC_BENCH"
say "before: $BEFORE (bench: $BEFORE_BENCH); after: $AFTER (bench: $AFTER_BENCH)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-before-after.XXXXXX")"
ALMANAC_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
results_dir before-after
demo_warehouse 1
"$PYTHON" "$HERE/company_load.py" prepare --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --out "$WORK" \
    --readers "$READERS" --seed "$READER_SEED" >/dev/null
echo "/reports/growth-overview" > "$WORK/report.paths"
echo "/" > "$WORK/home.paths"
"$PYTHON" -c 'import sys, urllib.parse
for line in open(sys.argv[1]):
    if line.strip(): print("/api/search?q=" + urllib.parse.quote(line.rstrip("\n"), safe=""))' \
    "$WORK/search-queries.txt" > "$WORK/api_search.paths"
RESULTS_TSV="$RESULTS/results.tsv"
: > "$RESULTS_TSV"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$RESULTS_TSV"; }  # build measure round value

generation() {  # LABEL BENCH ROUND
    local out="$RESULTS/generation-$1-$3.txt"
    (cd "$REPO" && "$2" bench-generation --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --as-of "$AS_OF" \
        --runs "$GEN_RUNS" --web "$REPO/Web") > "$out" 2>&1 || die "bench-generation ($1) failed: $(tail -3 "$out")"
    local line
    line=$(grep '^median_bare=' "$out") || die "bench-generation ($1) printed no medians"
    say "  generation $1: $line"
    record "$1" generation_seconds "$3" "$(sed -E 's/.*median_generation=([0-9.]+).*/\1/' <<<"$line")"
    record "$1" generation_bare_seconds "$3" "$(sed -E 's/.*median_bare=([0-9.]+).*/\1/' <<<"$line")"
}

search() {  # LABEL BENCH ROUND
    local out="$RESULTS/search-$1-$3.json"
    (cd "$HARNESS" && "$2" bench-search --data "$SEARCH_DATA" --queries data/queries.txt --out "$out" \
        --repeats "$SEARCH_REPEATS") > "$RESULTS/search-$1-$3.log" 2>&1 || die "bench-search ($1) failed"
    local p50 p99
    read -r p50 p99 < <("$PYTHON" - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lat = d.get("latency_ms") or d.get("latency") or {}
p50 = lat.get("p50") if isinstance(lat, dict) else None
p99 = lat.get("p99") if isinstance(lat, dict) else None
if p50 is None:
    p50, p99 = d.get("p50_ms"), d.get("p99_ms")
print(p50, p99)
PY
)
    say "  in-process search $1: p50 ${p50} ms, p99 ${p99} ms"
    record "$1" inprocess_search_p50_ms "$3" "$p50"
    record "$1" inprocess_search_p99_ms "$3" "$p99"
}

serving() {  # LABEL BINARY ROUND
    local work="$WORK/serve-$1-$3"
    mkdir -p "$work"
    ALMANAC="$2"
    company_portal "$work"
    for page in report home api_search; do
        PATHS="$WORK/$page.paths" READERS_FILE="$WORK/users.tsv" READERS="$READERS" SEED="$READER_SEED" WRK_THREADS=2 \
            USER_HEADER="$USER_HEADER" GROUPS_HEADER="$GROUPS_HEADER" USER_AGENT="$USER_AGENT" \
            wrk -t2 -c64 -d"${WARMUP}s" --timeout 5s -s "$HERE/readers-wrk.lua" "$BASE" > /dev/null 2>&1
        PATHS="$WORK/$page.paths" READERS_FILE="$WORK/users.tsv" READERS="$READERS" SEED="$READER_SEED" WRK_THREADS=2 \
            USER_HEADER="$USER_HEADER" GROUPS_HEADER="$GROUPS_HEADER" USER_AGENT="$USER_AGENT" \
            wrk -t2 -c64 -d"${DURATION}s" --timeout 5s --latency -s "$HERE/readers-wrk.lua" "$BASE" \
            > "$RESULTS/wrk-$page-$1-$3.txt" 2>&1
        local json
        json=$(grep '^WRKJSON ' "$RESULTS/wrk-$page-$1-$3.txt" | head -1 | cut -d' ' -f2-)
        [ -n "$json" ] || die "wrk printed no WRKJSON line for $page ($1)"
        local rps p99 errors
        read -r rps p99 errors < <("$PYTHON" -c 'import json, sys
d = json.loads(sys.argv[1])
print(d["rps"], d["p99_us"] / 1000, d["err_connect"] + d["err_read"] + d["err_write"] + d["err_status"] + d["err_timeout"])' "$json")
        say "  serving $1 $page: ${rps} req/s, p99 ${p99} ms, errors ${errors}"
        record "$1" "${page}_rps" "$3" "$rps"
        record "$1" "${page}_p99_ms" "$3" "$p99"
        record "$1" "${page}_errors" "$3" "$errors"
    done
    stop_pid "$ALMANAC_PID" TERM
    ALMANAC_PID=""
}

if [ "${SKIP_SEARCH:-0}" != 1 ]; then search_harness 100000; fi
for round in $(seq 1 "$ROUNDS"); do
    say "round $round of $ROUNDS"
    for build in before after; do
        if [ "$build" = before ]; then bin="$BEFORE"; bench="$BEFORE_BENCH"; else bin="$AFTER"; bench="$AFTER_BENCH"; fi
        [ "${SKIP_GENERATION:-0}" = 1 ] || generation "$build" "$bench" "$round"
        [ "${SKIP_SEARCH:-0}" = 1 ] || search "$build" "$bench" "$round"
        [ "${SKIP_SERVING:-0}" = 1 ] || serving "$build" "$bin" "$round"
    done
done

say "medians over $ROUNDS round(s) (raw values in $RESULTS_TSV)"
"$PYTHON" - "$RESULTS_TSV" <<'PY'
import collections, statistics, sys
values = collections.defaultdict(list)
for line in open(sys.argv[1]):
    build, measure, _, value = line.rstrip("\n").split("\t")
    try:
        values[(measure, build)].append(float(value))
    except ValueError:
        pass
measures = sorted({m for m, _ in values}, key=lambda m: (m.split("_")[0], m))
print(f"| measure | before | after | after / before |")
print(f"|---|---|---|---|")
for m in measures:
    b, a = values.get((m, "before")), values.get((m, "after"))
    if not b or not a:
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    ratio = f"{ma / mb:.3f}" if mb else "–"
    print(f"| {m} | {mb:,.3f} ({', '.join(f'{x:g}' for x in b)}) | {ma:,.3f} ({', '.join(f'{x:g}' for x in a)}) | {ratio} |")
PY
