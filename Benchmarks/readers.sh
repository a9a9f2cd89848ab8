#!/usr/bin/env bash
# Serving a whole company (issue 17), one page at a time: requests/s and p50/p99/p99.9 of
# `almanac serve` (release, view counting on, behind a trusted SSO proxy) under wrk -t2 -c64 for
# three pages, each measured three ways in the same run, rounds alternating:
#   (a) 1 reader: the same X-Forwarded-User (and groups) on every request;
#   (b) READERS (5,000) distinct readers: each request's user drawn at random from 5,000 names, with
#       that person's X-Forwarded-Groups (one or two of the catalog's groups: its team ids and
#       `access:` groups; see company_load.py prepare);
#   (c) nginx serving the same bytes (the portal's responses to the one reader, saved), sent the
#       very same requests (it ignores the headers): the baseline, as in serve-dashboard.sh.
# Pages: the report page /reports/growth-overview (REPORT), the home page /, and the search page
# /search?q=… rotating over a set of realistic queries (54 by default; each query's page saved
# for nginx under its own name, so nginx rotates over the same pages in the same order).
# Printed per page: a table per round (req/s, p50, p99, p99.9, max, errors, CPU of the server, of
# wrk and of everything else), the medians, and the ratios 5,000 readers vs nginx and 5,000
# readers vs 1 reader; then one summary table.
#
# Setup: the demo warehouse at scale 1 (Benchmarks/.data/demo-scale1), `almanac generate --all`
# into a temp state store and artifacts; wrk and the servers share the machine's cores.
#
# Environment: ROUNDS (default 3), DURATION (20 s per run), WARMUP (5 s before each run, same
# requests), CONNECTIONS (64), THREADS (2), READERS (5000), REPORT (growth-overview), TIMEOUT
# (wrk's, 5 s), USER_HEADER, GROUPS_HEADER, USER_AGENT, SEED, PORTAL_ARGS (more `almanac serve`
# options, e.g. "--page-cache-mb 32"), LOG_LEVEL (the portal's, error), DATA_DIR, AS_OF (2026-11-25),
# RESULTS_DIR (wrk outputs; default Benchmarks/.data/results/readers-TIME), TMPDIR. About
# 3 pages x 3 targets x ROUNDS x (DURATION + WARMUP) s, plus ~1 min of setup: ~12 min by default.
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
READERS="${READERS:-5000}"
REPORT="${REPORT:-growth-overview}"
TIMEOUT="${TIMEOUT:-5}"
SEED="${SEED:-17}"

say "readers benchmark: 1 reader vs $READERS readers vs nginx, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s," \
    "$ROUNDS round(s); pages /reports/$REPORT, /, /search?q=…"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_pyyaml
ensure_almanac
check_user_agent

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-readers-bench.XXXXXX")"
ALMANAC_PID=""
NGINX_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    stop_pid "$NGINX_PID" QUIT
    rm -rf "$WORK"
}
trap cleanup EXIT
results_dir readers

company_portal "$WORK"
"$PYTHON" "$HERE/company_load.py" prepare --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --out "$WORK" \
    --readers "$READERS" --seed "$SEED"
IFS=$'\t' read -r ONE_USER ONE_GROUPS < <(head -1 "$WORK/users.tsv")

# The pages: each path the portal gets, the file nginx serves for it (the portal's answer to the
# one reader), every one checked to answer 200.
mkdir -p "$WORK/static"
fetch() {  # PATH FILE
    local code
    code=$(curl -s -o "$2" -w '%{http_code}' -A "$USER_AGENT" -H "$USER_HEADER: $ONE_USER" \
        -H "$GROUPS_HEADER: $ONE_GROUPS" "$BASE$1")
    [ "$code" = 200 ] || die "GET $1 as $ONE_USER answered $code"
}
echo "/reports/$REPORT" > "$WORK/report.portal"; echo "/report.html" > "$WORK/report.nginx"
fetch "/reports/$REPORT" "$WORK/static/report.html"
echo "/" > "$WORK/home.portal"; echo "/home.html" > "$WORK/home.nginx"
fetch "/" "$WORK/static/home.html"
"$PYTHON" -c 'import sys, urllib.parse
for line in open(sys.argv[1]):
    if line.strip(): print("/search?q=" + urllib.parse.quote(line.rstrip("\n"), safe=""))' \
    "$WORK/search-queries.txt" > "$WORK/search.portal"
: > "$WORK/search.nginx"
n=0
while IFS= read -r path; do
    n=$((n + 1))
    fetch "$path" "$WORK/static/search-$n.html"
    echo "/search-$n.html" >> "$WORK/search.nginx"
done < "$WORK/search.portal"
size() { stat -c %s "$1"; }
search_bytes=$(cat "$WORK"/static/search-*.html | wc -c)
say "pages (as $ONE_USER [$ONE_GROUPS], all 200): /reports/$REPORT $(size "$WORK/static/report.html") B," \
    "/ $(size "$WORK/static/home.html") B, $n search pages $((search_bytes / n)) B on average"

# nginx with the shared baseline's settings (as serve-dashboard.sh).
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
wait_http "http://127.0.0.1:$NPORT/report.html"
cmp -s "$WORK/static/report.html" <(curl -s "http://127.0.0.1:$NPORT/report.html") \
    || die "nginx does not serve the same bytes"
say "nginx: pid $NGINX_PID on 127.0.0.1:$NPORT, serving the saved pages (checked with cmp)"

"$PYTHON" "$HERE/company_load.py" readers --portal "$BASE" --portal-pid "$ALMANAC_PID" \
    --nginx "http://127.0.0.1:$NPORT" --nginx-pid "$NGINX_PID" \
    --page "/reports/$REPORT|$WORK/report.portal|$WORK/report.nginx" \
    --page "/ (home)|$WORK/home.portal|$WORK/home.nginx" \
    --page "/search?q=… ($n queries)|$WORK/search.portal|$WORK/search.nginx" \
    --users "$WORK/users.tsv" --many "$READERS" --rounds "$ROUNDS" --duration "$DURATION" --warmup "$WARMUP" \
    --threads "$THREADS" --connections "$CONNECTIONS" --timeout "$TIMEOUT" --seed "$SEED" \
    --user-header "$USER_HEADER" --groups-header "$GROUPS_HEADER" --user-agent "$USER_AGENT" \
    --lua "$HERE/readers-wrk.lua" --out "$RESULTS" --summary "$RESULTS/summary.json"

if grep -q . "$WORK/almanac.log" 2>/dev/null; then
    say "almanac serve's log (level ${LOG_LEVEL:-error}), first lines:"
    head -10 "$WORK/almanac.log" | cut -c1-200 | sed 's/^/    /'
fi
say "portal RSS at the end: $(awk '/^VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$ALMANAC_PID/status")" \
    "(peak $(awk '/^VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$ALMANAC_PID/status"))"
say "load average now: $(cut -d' ' -f1-3 /proc/loadavg); wrk outputs and summary.json in $RESULTS"
