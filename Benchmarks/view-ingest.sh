#!/usr/bin/env bash
# View ingest through the HTTP path: requests/s (= views/s) of `almanac serve` (release) answering a
# pre-generated report page with view recording ON (every view buffered, written to the state store
# every second with its daily rollups) against the same binary with recording OFF (the hidden
# --no-view-recording flag), same run, same page, rounds alternating. Target: throughput loss <= 10%.
# Afterwards the ON server is stopped with SIGTERM and its state store must hold one view per
# request wrk completed; the OFF server's must hold none.
#
# The recorder alone (>= 100,000 views/s into SQLite) and the staleness scan are Benchmarks/usage.sh.
#
# Setup: the demo warehouse at the default scale (Benchmarks/.data/demo-scale1, shared with
# serve-dashboard.sh), `almanac generate --all` into a temp state store and artifacts; both servers
# serve the same artifacts, each with its own copy of that state store.
#
# Environment: ROUNDS (default 3), DURATION (20, seconds), WARMUP (5), CONNECTIONS (64), THREADS (2),
# REPORT (growth-overview), DATA_DIR, AS_OF (2026-11-25), REBUILD=1, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-5}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
REPORT="${REPORT:-growth-overview}"

say "view-ingest benchmark: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on /reports/$REPORT, $ROUNDS rounds per server"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-ingest-bench.XXXXXX")"
ON_PID=""
OFF_PID=""
cleanup() {
    stop_pid "$ON_PID"
    stop_pid "$OFF_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT

demo_warehouse 1
ARTIFACTS="$WORK/artifacts"
say "almanac generate --all (as of $AS_OF) into $WORK"
(cd "$REPO" && "$ALMANAC" generate --all --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$WORK/generated.sqlite" \
    --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" 2>&1 | tail -1 | cut -c1-200 | sed 's/^/  /')
"$SQLITE3" "$WORK/generated.sqlite" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
cp "$WORK/generated.sqlite" "$WORK/on.sqlite"
cp "$WORK/generated.sqlite" "$WORK/off.sqlite"

start_server() {  # NAME PORT EXTRA-FLAGS...; prints the pid
    local name=$1 port=$2; shift 2
    (cd "$REPO" && exec "$ALMANAC" serve --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$WORK/$name.sqlite" \
        --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" --port "$port" --allow-anonymous-loopback \
        --no-schedule --log-level error "$@") >"$WORK/$name.log" 2>&1 &
    local pid=$!
    wait_http "http://127.0.0.1:$port/healthz" >&2
    echo "$pid"
}
PORT_on=$(free_port)
ON_PID=$(start_server on "$PORT_on")
PORT_off=$(free_port)
OFF_PID=$(start_server off "$PORT_off" --no-view-recording)
say "recording on: pid $ON_PID on 127.0.0.1:$PORT_on; recording off: pid $OFF_PID on 127.0.0.1:$PORT_off"
for port in "$PORT_on" "$PORT_off"; do
    code=$(curl -s -o "$WORK/page-$port.html" -w '%{http_code}' "http://127.0.0.1:$port/reports/$REPORT")
    [ "$code" = 200 ] || die "/reports/$REPORT answered $code on port $port"
done
size_on=$(stat -c %s "$WORK/page-$PORT_on.html"); size_off=$(stat -c %s "$WORK/page-$PORT_off.html")
say "page: /reports/$REPORT, $size_on bytes (recording on), $size_off bytes (off)"
probes=1

python3 "$HERE/bench_helper.py" serve-bench --server "recording-on|$ON_PID" --server "recording-off|$OFF_PID" \
    --page "/reports/$REPORT ($size_on B)|http://127.0.0.1:$PORT_on/reports/$REPORT|http://127.0.0.1:$PORT_off/reports/$REPORT" \
    --rounds "$ROUNDS" --extra-rounds 0 --duration "$DURATION" --warmup "$WARMUP" \
    --threads "$THREADS" --connections "$CONNECTIONS" --lua "$HERE/wrk-report.lua" --out "$WORK/wrk" \
    --summary "$WORK/summary.json"

read -r wrk_on wrk_off ratio < <(python3 - "$WORK/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
page = next(iter(s["requests"]))
print(s["requests"][page]["recording-on"], s["requests"][page]["recording-off"], s["ratios"][page]["recording-on"])
PY
)
echo
loss=$(python3 -c "print(f'{(1 - float(\"$ratio\")) * 100:.1f}')")
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9 else 1)' "$ratio"; then
    say "Target: throughput loss with recording on <= 10%: MET (median ratio $(python3 -c "print(f'{float(\"$ratio\") * 100:.1f}%')"), loss $loss%)"
else
    say "Target: throughput loss with recording on <= 10%: NOT MET (median ratio $(python3 -c "print(f'{float(\"$ratio\") * 100:.1f}%')"), loss $loss%)"
fi

# Every view reached the state store (after a graceful stop), and none without recording.
stop_pid "$ON_PID" TERM; ON_PID=""
stop_pid "$OFF_PID" TERM; OFF_PID=""
views_on=$("$SQLITE3" "$WORK/on.sqlite" "select count(*) from views where item_id = '$REPORT'")
rollup_on=$("$SQLITE3" "$WORK/on.sqlite" "select coalesce(sum(views), 0) from view_days where item_id = '$REPORT'")
views_off=$("$SQLITE3" "$WORK/off.sqlite" "select count(*) from views")
expected=$(( wrk_on + probes ))
say "recording on: $views_on views of '$REPORT' in the state store (daily rollup: $rollup_on); wrk completed $wrk_on" \
    "requests (warm-ups and timed runs) + $probes curl request = $expected; in flight when wrk stopped: up to $CONNECTIONS per run"
say "recording off: $views_off views in its state store; wrk completed $wrk_off requests"
diff=$(( views_on - expected ))
if [ "$diff" -ge 0 ] && [ "$diff" -le $(( CONNECTIONS * 2 * ROUNDS )) ] && [ "$rollup_on" = "$views_on" ] && [ "$views_off" = 0 ]; then
    say "view recording: OK (views - requests = $diff, within 0..$(( CONNECTIONS * 2 * ROUNDS )); rollup = raw log; none when off)"
else
    say "view recording: MISMATCH (views - requests = $diff; rollup $rollup_on vs raw $views_on; off: $views_off)"
fi
say "removed $WORK"
