#!/usr/bin/env bash
# Cached pages for 5,000 readers, another build against this one, alternating in one run: each
# round starts `almanac serve` (release, behind a trusted SSO proxy, as readers.sh) with BEFORE's
# binary, then with the current build, on the same generated state and artifacts, and measures
# each page in PAGES under `wrk -t2 -c64` (a WARMUP-s run, then DURATION s) with readers-wrk.lua:
# each request's reader drawn from READERS people with their own groups. One portal at a time;
# wrk and the portal share the cores. Prints req/s per build, round and page, and the medians.
# The figures of the "Alternating A/B" tables in Benchmarks/README.md since 2026-12-07 come
# from this script (the earlier sessions' from a copy kept outside the repository).
#
#   BEFORE=/path/to/almanac Benchmarks/pages-ab.sh
# Environment: BEFORE (required), PAGES ("home search report"; home = /, search = the 54
# queries' /search pages rotating, report = /reports/growth-overview), ROUNDS (3), DURATION (8),
# WARMUP (3), READERS (5000), SEED (17), AS_OF, TMPDIR. About ROUNDS x 2 x (10 s of start-up +
# PAGES x (WARMUP + DURATION)) plus a minute of setup: ~5 min by default.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

[ -n "${BEFORE:-}" ] && [ -x "$BEFORE" ] || die "set BEFORE to the other build's almanac binary"
PAGES="${PAGES:-home search report}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-8}"
WARMUP="${WARMUP:-3}"
READERS="${READERS:-5000}"
SEED="${SEED:-17}"
REPORT=growth-overview

say "pages A/B: BEFORE=$BEFORE against the current build, $ROUNDS rounds, pages: $PAGES," \
    "wrk -t2 -c64 -d${DURATION}s after ${WARMUP}s, $READERS readers"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_pyyaml
ensure_almanac
check_user_agent
AFTER="$ALMANAC"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-pages-ab.XXXXXX")"
ALMANAC_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT

# The state, artifacts and readers of readers.sh (company_portal starts a portal: stopped here,
# each build gets its own below on the same files).
company_portal "$WORK"
stop_pid "$ALMANAC_PID"
ALMANAC_PID=""
"$PYTHON" "$HERE/company_load.py" prepare --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --out "$WORK" \
    --readers "$READERS" --seed "$SEED" >/dev/null
echo "/" > "$WORK/home.paths"
echo "/reports/$REPORT" > "$WORK/report.paths"
"$PYTHON" -c 'import sys, urllib.parse
for line in open(sys.argv[1]):
    if line.strip(): print("/search?q=" + urllib.parse.quote(line.rstrip("\n"), safe=""))' \
    "$WORK/search-queries.txt" > "$WORK/search.paths"

# serve BINARY: a portal on the shared files, ready (search index read) when it returns.
serve() {
    PORT=$(free_port)
    (cd "$REPO" && exec "$1" serve --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$WORK/state.sqlite" \
        --artifacts "$WORK/artifacts" --as-of "$AS_OF" --web "$REPO/Web" --port "$PORT" \
        --trusted-proxy 127.0.0.1 --user-header "$USER_HEADER" --groups-header "$GROUPS_HEADER" \
        --no-schedule --no-delivery --log-level error) >"$WORK/serve.log" 2>&1 &
    ALMANAC_PID=$!
    wait_http "http://127.0.0.1:$PORT/healthz" 120
    wait_search_index "$WORK/state.sqlite"
}

# load PAGE SECONDS: wrk's requests per second (and its error lines) for PAGE on the running portal.
load() {
    PATHS="$WORK/$1.paths" READERS_FILE="$WORK/users.tsv" READERS="$READERS" SEED="$SEED" WRK_THREADS=2 \
        USER_HEADER="$USER_HEADER" GROUPS_HEADER="$GROUPS_HEADER" USER_AGENT="$USER_AGENT" \
        wrk -t2 -c64 -d"$2s" --timeout 5s -s "$HERE/readers-wrk.lua" "http://127.0.0.1:$PORT" 2>&1
}

RESULTS_FILE="$WORK/results.tsv"
: > "$RESULTS_FILE"
for round in $(seq "$ROUNDS"); do
    for build in before after; do
        binary=$BEFORE
        [ "$build" = after ] && binary=$AFTER
        serve "$binary"
        for page in $PAGES; do
            load "$page" "$WARMUP" >/dev/null
            out=$(load "$page" "$DURATION")
            rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
            errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | tr '\n' ';' || true)
            printf '%s\t%s\t%s\t%s\n' "$round" "$build" "$page" "$rps" >> "$RESULTS_FILE"
            say "round $round, $build, $page: ${rps:-?} req/s${errors:+ ($errors)}"
        done
        stop_pid "$ALMANAC_PID"
        ALMANAC_PID=""
    done
done

"$PYTHON" - "$RESULTS_FILE" "$ROUNDS" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
pages = list(dict.fromkeys(row[2] for row in rows))
print(f"\n| page | before, req/s by round | after, req/s by round | after / before (medians) |")
print("|---|---|---|---|")
for page in pages:
    runs = {b: [float(r[3]) for r in rows if r[2] == page and r[1] == b and r[3]] for b in ("before", "after")}
    fmt = lambda values: " / ".join(f"{v:,.0f}" for v in values)
    ratio = statistics.median(runs["after"]) / statistics.median(runs["before"]) if runs["before"] and runs["after"] else float("nan")
    print(f"| {page} | {fmt(runs['before'])} | {fmt(runs['after'])} | {ratio:.3f} |")
PY
