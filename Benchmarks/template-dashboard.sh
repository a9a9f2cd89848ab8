#!/usr/bin/env bash
# The customer dashboard on demand (template `customer`, one customer's domain as its parameter):
# p50/p95 uncached and cached, at the default demo scale (2,000,000 events) and at 20,000,000,
# against the bare SQL time of the same queries measured in the same run. Targets: uncached p95
# <= 2 x bare SQL p95; cached p95 <= 5 ms.
#
# Per scale, N customers (default 30) are chosen deterministically from the warehouse:
#   SELECT domain FROM workspaces ORDER BY (workspace_id*7919)%5003, workspace_id LIMIT N
# 1. In-process, uncached (`almanac-bench bench-template`, hidden, release): for each value one untimed
#    render through a recording warehouse captures its SQL statements; then ROUNDS rounds, each
#    timing (a) a full render of the dashboard (SQL + charts + HTML, not cached: the render cache is
#    the portal's) and (b) the captured statements run bare, one after another as the render runs
#    them, same process and warehouse, the order of (a) and (b) alternating per round. Each value's
#    figure is the median of its rounds; p50/p95 are over the N values (nearest rank).
# 2. Over HTTP: `almanac serve` (release, anonymous loopback = the local admin, no schedule). The
#    portal reads every entity value (all customers, campaigns, ...) from the warehouse into search
#    right after it starts; the script waits until that is done (GET /api/search?q=<first domain>
#    answers a customer first) so that it does not overlap the timings. Then one keep-alive
#    connection (Python http.client, sequential) times GET /templates/customer?domain=D from
#    sending the request to reading the last byte: cold = once per value (the request renders
#    it), cached = CACHED (20) more per value, round-robin over the values (served from the
#    portal's 5-minute render cache; the page around the dashboard is still rendered per request).
#    Every response must be 200 and contain "Ocean chart". HTTP cold p95 is printed next to the
#    bare SQL p95 for information (the target is on the in-process figures).
# "Cold" means not in the portal's render cache; the warehouse file is in the OS page cache (the
# in-process half has just read it). The client, the server and SQLite share the machine's cores.
# After each scale the script prints the search-indexing runs the portal recorded in its state store.
#
# Environment: SCALES (default "1 10"), N (30), ROUNDS (3, in-process rounds per value), CACHED
# (20), SEARCH_WAIT (900, seconds to wait for search's entity values), DATA_DIR, AS_OF
# (2026-11-25), SQLITE3, TMPDIR. REBUILD=1 rebuilds the release binary first.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

SCALES="${SCALES:-1 10}"
N="${N:-30}"
ROUNDS="${ROUNDS:-3}"
CACHED="${CACHED:-20}"
SEARCH_WAIT="${SEARCH_WAIT:-900}"

say "template-dashboard benchmark: template customer, $N customers per scale, scales: $SCALES; in-process" \
    "$ROUNDS rounds per value; HTTP 1 cold + $CACHED cached requests per value"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
command -v curl >/dev/null 2>&1 || apt_install curl
ensure_sqlite3
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-template-bench.XXXXXX")"
ALMANAC_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT

summaries=()
for scale in $SCALES; do
    echo
    say "=== scale $scale ==="
    demo_warehouse "$scale"
    events=$("$SQLITE3" "$WAREHOUSE" "SELECT count(*) FROM events")
    mapfile -t domains < <("$SQLITE3" "$WAREHOUSE" \
        "SELECT domain FROM workspaces ORDER BY (workspace_id*7919)%5003, workspace_id LIMIT $N")
    [ "${#domains[@]}" -eq "$N" ] || die "the warehouse has only ${#domains[@]} workspaces (N=$N)"
    values=$(IFS=,; echo "${domains[*]}")
    say "scale $scale: $events events; $N customers: ${domains[*]:0:5} …"

    say "in-process: almanac-bench bench-template --rounds $ROUNDS (uncached render vs the same SQL bare)"
    (cd "$REPO" && python3 "$HERE/http_timing.py" inprocess --out "$WORK/inprocess-$scale.json" --rounds "$ROUNDS" -- \
        "$ALMANAC_BENCH" bench-template --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --as-of "$AS_OF" \
        --web "$REPO/Web" --template customer --parameter domain --values "$values" --rounds "$ROUNDS")

    PORT=$(free_port)
    mkdir -p "$WORK/scale$scale"
    started=$(date +%s.%N)
    (cd "$REPO" && exec "$ALMANAC" serve --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" \
        --state "$WORK/scale$scale/state.sqlite" --artifacts "$WORK/scale$scale/artifacts" --as-of "$AS_OF" \
        --web "$REPO/Web" --port "$PORT" --allow-anonymous-loopback --no-schedule --log-level error) \
        >"$WORK/scale$scale/almanac.log" 2>&1 &
    ALMANAC_PID=$!
    wait_http "http://127.0.0.1:$PORT/healthz" 120
    say "almanac serve: pid $ALMANAC_PID on 127.0.0.1:$PORT, /healthz 200 after" \
        "$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)") s"
    python3 "$HERE/http_timing.py" http --base "http://127.0.0.1:$PORT" --template customer --parameter domain \
        --values "$values" --cached "$CACHED" --search-wait "$SEARCH_WAIT" --server-pid "$ALMANAC_PID" \
        --out "$WORK/http-$scale.json"
    if grep -v '^\s*$' "$WORK/scale$scale/almanac.log" >/dev/null 2>&1; then
        say "almanac serve's log (level error):"
        head -20 "$WORK/scale$scale/almanac.log" | cut -c1-200 | sed 's/^/    /'
    fi
    stop_pid "$ALMANAC_PID" TERM; ALMANAC_PID=""
    # What the background indexing took, as the portal recorded it (duration: from the start of
    # that entity's read to the end of building all the entity segments).
    say "search indexing runs recorded by the portal (entity, rows, ms, error):"
    "$SQLITE3" -separator ' ' "$WORK/scale$scale/state.sqlite" \
        "SELECT target, rows, duration_ms, coalesce(error, '-') FROM runs WHERE kind = 'index' ORDER BY id" \
        | sed 's/^/    /' || true

    python3 - "$scale" "$events" "$WORK/inprocess-$scale.json" "$WORK/http-$scale.json" "$WORK/summary-$scale.json" <<'PY'
import json, sys
scale, events, inproc, http, out = sys.argv[1:]
json.dump(dict(scale=int(scale), events=int(events), inprocess=json.load(open(inproc)), http=json.load(open(http))),
          open(out, "w"))
PY
    summaries+=("$WORK/summary-$scale.json")
done

python3 "$HERE/http_timing.py" template-summary "${summaries[@]}"
say "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
say "removed $WORK"
