#!/usr/bin/env bash
# Serving a pre-generated dashboard: requests/s and latency with wrk (-t2 -c64, --latency) against
# `almanac serve` (release, view counting on: anonymous loopback, every report page view counted
# in memory and flushed to the state store every second), side by side with nginx serving the
# SAME BYTES (the saved response body) in the same run, alternating. Target: Almanac >= 50% of
# nginx's requests/s. Afterwards the state store's `views` table is checked against the number of
# requests wrk made. When the target is missed (or PERF=1), `perf record -g -p PID` of the server
# during one extra wrk run shows where its time goes (PERF=0 never profiles).
#
# Setup: the demo warehouse at the default scale (Benchmarks/.data/demo-scale1, shared with
# generation-overhead.sh), `almanac generate --all` into a temp state store and artifacts, then
# the report page whose HTML is closest to TARGET_BYTES (150,000) is the one tested.
#
# Environment: ROUNDS (default 3), DURATION (20, seconds), WARMUP (5), HEALTHZ_ROUNDS (2; 0 skips
# /healthz), CONNECTIONS (64), THREADS (2), TARGET_BYTES, DATA_DIR, AS_OF (2026-11-25), PERF,
# REBUILD=1, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-5}"
HEALTHZ_ROUNDS="${HEALTHZ_ROUNDS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
TARGET_BYTES="${TARGET_BYTES:-150000}"

say "serve-dashboard benchmark: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds per server"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-serve-bench.XXXXXX")"
ALMANAC_PID=""
NGINX_PID=""
PERF_PID=""
cleanup() {
    stop_pid "$PERF_PID" INT
    stop_pid "$ALMANAC_PID"
    stop_pid "$NGINX_PID" QUIT
    rm -rf "$WORK"
}
trap cleanup EXIT

demo_warehouse 1
STATE="$WORK/state.sqlite"
ARTIFACTS="$WORK/artifacts"
say "almanac generate --all (as of $AS_OF) into $WORK"
(cd "$REPO" && "$ALMANAC" generate --all --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$STATE" \
    --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" 2>&1 | tail -1 | cut -c1-200 | sed 's/^/  /')

PORT=$(free_port)
(cd "$REPO" && exec "$ALMANAC" serve --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$STATE" \
    --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" --port "$PORT" --allow-anonymous-loopback \
    --no-schedule --log-level error) >"$WORK/almanac.log" 2>&1 &
ALMANAC_PID=$!
wait_http "http://127.0.0.1:$PORT/healthz"
say "almanac serve: pid $ALMANAC_PID on 127.0.0.1:$PORT"

# The report page whose HTML is closest to TARGET_BYTES.
say "report pages (bytes of the HTML response):"
best=""; best_size=0; best_diff=""
for file in "$REPO"/Catalog/reports/*.yaml "$REPO"/Catalog/reports/*.yml; do
    [ -f "$file" ] || continue
    id=$(basename "${file%.*}")
    read -r code size < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' "http://127.0.0.1:$PORT/reports/$id")
    printf '    %-40s %s %9s\n' "$id" "$code" "$size"
    [ "$code" = 200 ] || continue
    diff=$(( size > TARGET_BYTES ? size - TARGET_BYTES : TARGET_BYTES - size ))
    if [ -z "$best_diff" ] || [ "$diff" -lt "$best_diff" ]; then best=$id; best_size=$size; best_diff=$diff; fi
done
[ -n "$best" ] || die "no report page answered 200"
mkdir -p "$WORK/static"
curl -s -o "$WORK/static/dashboard.html" "http://127.0.0.1:$PORT/reports/$best"
curl -s -o "$WORK/static/healthz.html" "http://127.0.0.1:$PORT/healthz"
got=$(stat -c %s "$WORK/static/dashboard.html")
say "chosen: /reports/$best, $got bytes of HTML (closest to $TARGET_BYTES); nginx serves this saved body"
curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/reports/$best" | tr -d '\r' | sed 's/^/    almanac header: /' | head -20 || true

# nginx with the shared baseline's settings (/work/shared/bench/http/nginx.conf).
NPORT=$(free_port)
cat > "$WORK/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    types { text/html html; }
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx-tmp;
    proxy_temp_path $WORK/nginx-tmp;
    fastcgi_temp_path $WORK/nginx-tmp;
    uwsgi_temp_path $WORK/nginx-tmp;
    scgi_temp_path $WORK/nginx-tmp;
    server {
        listen 127.0.0.1:$NPORT;
        root $WORK/static;
    }
}
NGINX
mkdir -p "$WORK/nginx-tmp"
chmod a+rx "$WORK" "$WORK/static"; chmod a+r "$WORK"/static/*   # nginx workers run as nobody
nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NPORT/dashboard.html"
cmp -s "$WORK/static/dashboard.html" <(curl -s "http://127.0.0.1:$NPORT/dashboard.html") \
    || die "nginx does not serve the same bytes"
curl -s -o "$WORK/again.html" "http://127.0.0.1:$PORT/reports/$best"
if ! cmp -s "$WORK/static/dashboard.html" "$WORK/again.html"; then
    say "note: almanac's page differs between two requests ($got vs $(stat -c %s "$WORK/again.html") bytes); the differing lines:"
    diff "$WORK/static/dashboard.html" "$WORK/again.html" | grep '^[<>]' | cut -c1-200 | head -6 | sed 's/^/    /' || true
fi
say "nginx: pid $NGINX_PID on 127.0.0.1:$NPORT, serving the same $got bytes (checked with cmp)"
probes=4   # curl requests to /reports/$best so far: size probe, saved body, header dump, second copy

pages=(--page "/reports/$best ($got B)|http://127.0.0.1:$PORT/reports/$best|http://127.0.0.1:$NPORT/dashboard.html")
if [ "$HEALTHZ_ROUNDS" -gt 0 ]; then
    pages+=(--page "/healthz ($(stat -c %s "$WORK/static/healthz.html") B)|http://127.0.0.1:$PORT/healthz|http://127.0.0.1:$NPORT/healthz.html")
fi
python3 "$HERE/bench_helper.py" serve-bench --server "almanac|$ALMANAC_PID" --server "nginx|$NGINX_PID" \
    "${pages[@]}" --rounds "$ROUNDS" --extra-rounds "$HEALTHZ_ROUNDS" --duration "$DURATION" --warmup "$WARMUP" \
    --threads "$THREADS" --connections "$CONNECTIONS" --lua "$HERE/wrk-report.lua" --out "$WORK/wrk" \
    --summary "$WORK/summary.json"

read -r wrk_requests ratio < <(python3 - "$WORK/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
page = next(iter(s["requests"]))
print(s["requests"][page]["almanac"], s["ratios"][page]["almanac"])
PY
)
echo
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.5 else 1)' "$ratio"; then
    say "Target: almanac >= 50% of nginx's requests/s on the same bytes with view counting on: MET (median ratio $(python3 -c "print(f'{float(\"$ratio\") * 100:.1f}%')"))"
    profile=0
else
    say "Target: almanac >= 50% of nginx's requests/s on the same bytes with view counting on: NOT MET (median ratio $(python3 -c "print(f'{float(\"$ratio\") * 100:.1f}%')"))"
    profile=1
fi
[ "${PERF:-auto}" = 1 ] && profile=1
[ "${PERF:-auto}" = 0 ] && profile=0

profiled=0
if [ "$profile" = 1 ]; then
    if ensure_perf; then
        say "perf record -g -p $ALMANAC_PID during one extra wrk run (${DURATION}s, not timed for the table)"
        perf record -q -g -F 999 -p "$ALMANAC_PID" -o "$WORK/perf.data" >"$WORK/perf.log" 2>&1 &
        PERF_PID=$!
        sleep 1
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$HERE/wrk-report.lua" \
            "http://127.0.0.1:$PORT/reports/$best" > "$WORK/wrk-perf.txt"
        profiled=$(python3 -c 'import json,sys; l=[x for x in open(sys.argv[1]) if x.startswith("WRKJSON ")]; print(json.loads(l[-1][8:])["requests"])' "$WORK/wrk-perf.txt")
        stop_pid "$PERF_PID" INT; PERF_PID=""
        echo
        echo "Server profile: inclusive share of all samples ('children' = itself + callees), hottest functions:"
        perf report -i "$WORK/perf.data" --children --sort symbol -g none --percent-limit 2.5 --stdio 2>/dev/null \
            | grep '%' | sed -E 's/[[:space:]]+$//' | { swift demangle --simplified 2>/dev/null || cat; } \
            | cut -c1-170 | head -70 || true
        echo
        echo "Self time (no callees), hottest functions:"
        perf report -i "$WORK/perf.data" --no-children --sort dso,symbol -g none --percent-limit 1 --stdio 2>/dev/null \
            | grep '%' | sed -E 's/[[:space:]]+$//' | { swift demangle --simplified 2>/dev/null || cat; } \
            | cut -c1-170 | head -40 || true
        echo
        echo "Self time by shared object:"
        perf report -i "$WORK/perf.data" --no-children --sort dso -g none --percent-limit 0.5 --stdio 2>/dev/null \
            | grep '%' | head -15 || true
        echo
    else
        say "perf is not available: no profile"
    fi
fi

# View counting: stop the server with SIGTERM (it flushes), then count what reached the state store.
stop_pid "$ALMANAC_PID" TERM; ALMANAC_PID=""
views_page=$("$SQLITE3" "$STATE" "select count(*) from views where item_id = '$best'")
views_all=$("$SQLITE3" "$STATE" "select count(*) from views")
expected=$(( wrk_requests + probes + profiled ))
say "views: $views_all rows in the state store's views table, $views_page for report '$best'; wrk completed" \
    "$wrk_requests requests to it (warm-ups and timed runs) + $profiled during the profile + $probes curl requests" \
    "= $expected (wrk does not count the requests still in flight when it stops, up to $CONNECTIONS per wrk run)"
diff=$(( views_page - expected ))
runs_total=$(( 2 * ROUNDS + (profiled > 0 ? 1 : 0) ))
if [ "$diff" -ge 0 ] && [ "$diff" -le $(( CONNECTIONS * runs_total )) ]; then
    say "view counting: OK (views - requests = $diff, within 0..$(( CONNECTIONS * runs_total )))"
else
    say "view counting: MISMATCH (views - requests = $diff; expected 0..$(( CONNECTIONS * runs_total )))"
fi
say "removed $WORK"
