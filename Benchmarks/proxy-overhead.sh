#!/usr/bin/env bash
# Proxy overhead of external reports: a report app's page fetched through the portal
# (`almanac serve`, release: GET /x/{report}/PATH, which the portal forwards to the backend's base
# URL + PATH after its access check) against the same page fetched from the backend directly, same
# run, alternating. Targets: <= 1 ms added at p50, and throughput >= 70% of direct.
#
# Backends (BACKENDS, default "nginx datasette"):
# - nginx (the primary, harshest measurement): nginx serving one generated static HTML page of
#   about 20 KB (a support-ticket report with a table; deterministic) from a temp root on a free
#   port, with its own minimal nginx.conf; the report `support-insights` (GET
#   /x/support-insights/page.html). The backend costs almost nothing per request here, so the
#   proxy's own cost is all there is to see. Two references in the same run:
#   * nginx as a reverse proxy: a second nginx (its own process, so that its CPU is its own) with
#     `upstream b { server 127.0.0.1:<backend port>; keepalive 32; }` and `proxy_pass http://b;
#     proxy_http_version 1.1; proxy_set_header Connection "";` in front of the same backend
#     nginx: what a lean proxy costs on this machine (no access check, header filtering or view
#     counting);
#   * the portal's GET /healthz (3 bytes, no backend): what the portal's HTTP stack alone does.
# - datasette: a dynamic report app, the shared HTTP baseline's Datasette (SHARED_BENCH/http,
#   its requirements installed with pip and its catalog.db of 100,000 rows built by its
#   build_db.py; see datasette_harness in common.sh) with DATASETTE_OPTIONS (default `--setting
#   suggest_facets off`: with Datasette's defaults a table page spends ~0.3 s suggesting facets
#   over the 100,000 rows, ~3 pages/s, and would hide any proxy), on a free port; the report
#   `report-app` (GET /x/report-app/DATASETTE_PATH, default /catalog/entries?_size=50: the table
#   page, HTML, 50 rows) against the same path on Datasette directly.
# Portal: a temp copy of Catalog/ whose backends/support-insights.yaml points at the backend nginx
# and which gets backends/report-app.yaml + reports/report-app.yaml (an external report on the
# Datasette URL, access as support-insights) (Catalog/almanac.yaml already allow-lists
# 127.0.0.1), the demo warehouse at the default scale (nothing is read from it here),
# --allow-anonymous-loopback (the local admin, who may see both reports), --no-schedule. Every URL
# must answer 200; proxied bodies must equal the direct ones (cmp; for Datasette after blanking
# its "Queries took N ms"; the proxied response adds headers such as a sandbox CSP).
# 1. Latency: `wrk -t1 -c1 -d${DURATION}s --latency` against every target, ROUNDS rounds, the
#    targets' order reversing every round (each proxied target sits next to its direct one, and
#    which of the two goes first alternates); added = proxied p50 - direct p50 per round; the
#    figure is the median over the rounds.
# 2. Throughput: `wrk -t2 -c${CONNECTIONS}`, the same way; ratio = proxied req/s / direct req/s
#    per round; the figure is the median over the rounds.
# Every timed run follows a WARMUP-second wrk run on the same URL. For every run the script
# reads the CPU time of each server (portal, backend nginx, proxy nginx, Datasette) and wrk, and
# prints it per completed request.
#
# Caveats: wrk and the servers share the same 2 cores, so under load the proxied path (wrk +
# proxy + backend) competes with itself for CPU, where the direct path has only wrk and the
# backend: the throughput ratio is pessimistic for a proxy (for the portal and for the nginx
# reference alike). Every proxied HTML page also counts a view (the portal records views of
# external reports, in memory, flushed every second); the script checks the views table after
# stopping the portal.
#
# Environment: BACKENDS ("nginx datasette"), ROUNDS (default 3), DURATION (20, seconds), WARMUP
# (5), CONNECTIONS (32), THREADS (2), PAGE_BYTES (20000, approximate size of the static page),
# DATASETTE_PATH (/catalog/entries?_size=50), DATASETTE_OPTIONS (--setting suggest_facets off),
# REBUILD_DB=1 (rebuild Datasette's catalog.db), SHARED_BENCH (../../shared/bench), DATA_DIR,
# AS_OF (2026-11-25), SQLITE3, TMPDIR. REBUILD=1 rebuilds the release binary first.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-5}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
PAGE_BYTES="${PAGE_BYTES:-20000}"
BACKENDS="${BACKENDS:-nginx datasette}"
DATASETTE_PATH="${DATASETTE_PATH:-/catalog/entries?_size=50}"
DATASETTE_OPTIONS="${DATASETTE_OPTIONS:---setting suggest_facets off}"
has_backend() { [[ " $BACKENDS " == *" $1 "* ]]; }
for b in $BACKENDS; do
    case "$b" in nginx|datasette) ;; *) die "BACKENDS: unknown backend '$b' (nginx, datasette)" ;; esac
done

say "proxy-overhead benchmark: report pages through the portal (/x/{report}/...) vs the backend directly;" \
    "backends: $BACKENDS; latency wrk -t1 -c1, throughput wrk -t$THREADS -c$CONNECTIONS, -d${DURATION}s," \
    "$ROUNDS rounds each"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_almanac
if has_backend datasette; then datasette_harness; fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-proxy-bench.XXXXXX")"
ALMANAC_PID=""
NGINX_PID=""
PROXY_PID=""
DS_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    stop_pid "$PROXY_PID" QUIT
    stop_pid "$NGINX_PID" QUIT
    stop_pid "$DS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT

demo_warehouse 1

targets=()      # --target LABEL=URL for http_timing.py proxy, in the order of the first round
processes=()    # --process NAME=PID
compares=()     # --compare TITLE:PROXIED:DIRECT:target|reference
reports=()      # REPORT_ID=TARGET_LABEL: views to check after the run
PORT=$(free_port)
PORTAL="http://127.0.0.1:$PORT"
cp -r "$REPO/Catalog" "$WORK/catalog"

if has_backend nginx; then
# The backend's page: a report app's HTML with a ticket table, about PAGE_BYTES bytes, the same
# bytes on every run (no clock, no randomness).
mkdir -p "$WORK/root" "$WORK/nginx-tmp"
python3 - "$WORK/root/page.html" "$PAGE_BYTES" <<'PY'
import sys
path, target = sys.argv[1], int(sys.argv[2])
queues = ["Billing", "Onboarding", "Integrations", "Data export", "SSO & SCIM", "Mobile app"]
customers = ["globex.com", "initech.io", "umbrella.dev", "hooli.ai", "vandelay.co", "stark.net", "wayne.org",
             "acme.com", "tyrell.ai", "cyberdyne.io", "soylent.co", "wonka.com"]
head = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Support insights: open tickets</title>
<link rel="stylesheet" href="static/app.css">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2937; }
header { background: #0f172a; color: #fff; padding: 12px 24px; }
nav a { color: #cbd5e1; margin-right: 16px; text-decoration: none; }
main { padding: 16px 24px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sla-breach { color: #b91c1c; font-weight: 600; }
</style>
</head>
<body>
<header><strong>Support insights</strong>
<nav><a href="./">Overview</a><a href="tickets.html">Tickets</a><a href="queues.html">Queues</a><a href="csat.html">CSAT</a></nav>
</header>
<main>
<h1>Open tickets by customer</h1>
<p>Tickets opened in the last 30 days, first response time against the queue's SLA, and the
customer's error count over the same period. Data as of 2026-11-25 06:00 UTC.</p>
<table id="tickets">
<thead><tr><th>Ticket</th><th>Customer</th><th>Queue</th><th>Priority</th><th>Opened</th><th class="num">First response (h)</th><th class="num">Errors (30d)</th><th class="num">CSAT</th><th>Status</th></tr></thead>
<tbody>
"""
tail = """</tbody>
</table>
<p><a href="export.csv">Download as CSV</a> · Generated by support-insights 2.4.1</p>
</main>
<script src="static/app.js" defer></script>
</body>
</html>
"""
rows = []
i = 0
while len(head) + sum(len(r) for r in rows) + len(tail) < target - 120:
    hours = (i * 37 % 97) / 4
    breach = ' class="num sla-breach"' if hours > 20 else ' class="num"'
    rows.append(
        f'<tr><td><a href="tickets/{48213 + i}.html">#{48213 + i}</a></td><td>{customers[i * 5 % len(customers)]}</td>'
        f'<td>{queues[i * 7 % len(queues)]}</td><td>{["P1", "P2", "P3", "P4"][i * 3 % 4]}</td>'
        f'<td>2026-11-{1 + i * 11 % 25:02d}</td><td{breach}>{hours:.2f}</td><td class="num">{i * 131 % 907}</td>'
        f'<td class="num">{(3 + i * 13 % 20 / 10):.1f}</td><td>{["open", "pending", "waiting on customer"][i % 3]}</td></tr>\n')
    i += 1
open(path, "w").write(head + "".join(rows) + tail)
PY
printf 'ok\n' > "$WORK/root/healthz"
page_size=$(stat -c %s "$WORK/root/page.html")
say "backend page: $page_size bytes of HTML ($(grep -c '<tr><td>' "$WORK/root/page.html") table rows)"

NGINX_PORT=$(free_port)
PROXY_PORT=$(free_port)
# nginx_conf FILE PID_FILE SERVER_BLOCK...: a minimal nginx.conf around the given server lines.
nginx_conf() {
    local file=$1 pidfile=$2; shift 2
    cat > "$file" <<NGINX
daemon off;
worker_processes auto;
pid $pidfile;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    types { text/html html; }
    default_type text/plain;
    client_body_temp_path $WORK/nginx-tmp;
    proxy_temp_path $WORK/nginx-tmp;
    fastcgi_temp_path $WORK/nginx-tmp;
    uwsgi_temp_path $WORK/nginx-tmp;
    scgi_temp_path $WORK/nginx-tmp;
$(printf '    %s\n' "$@")
}
NGINX
}
nginx_conf "$WORK/nginx.conf" "$WORK/nginx.pid" \
    "server { listen 127.0.0.1:$NGINX_PORT; root $WORK/root; }"
# The reference proxy: its own nginx (own master and workers, so its CPU is its own), upstream
# keep-alive to the backend nginx.
nginx_conf "$WORK/nginx-proxy.conf" "$WORK/nginx-proxy.pid" \
    "upstream b { server 127.0.0.1:$NGINX_PORT; keepalive 32; }" \
    "server {" \
    "    listen 127.0.0.1:$PROXY_PORT;" \
    "    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection \"\"; }" \
    "}"
chmod a+rx "$WORK" "$WORK/root"; chmod a+r "$WORK"/root/*   # nginx workers run as nobody
nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT/page.html"
say "backend nginx: pid $NGINX_PID on 127.0.0.1:$NGINX_PORT"
nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx-proxy.conf" &
PROXY_PID=$!
wait_http "http://127.0.0.1:$PROXY_PORT/page.html"
say "reference proxy nginx: pid $PROXY_PID on 127.0.0.1:$PROXY_PORT -> upstream 127.0.0.1:$NGINX_PORT (keepalive 32):"
grep -E 'upstream b|listen|location' "$WORK/nginx-proxy.conf" | sed 's/^ */    /'

# The portal's support-insights backend is that nginx.
backend="$WORK/catalog/backends/support-insights.yaml"
grep -q '^url: http://127.0.0.1:8601/$' "$backend" || die "$backend no longer has url: http://127.0.0.1:8601/"
sed -i "s|^url: http://127.0.0.1:8601/\$|url: http://127.0.0.1:$NGINX_PORT/|" "$backend"
say "catalog copy: $(grep '^url:' "$backend") in backends/support-insights.yaml"
targets+=("portal=$PORTAL/x/support-insights/page.html" "direct=http://127.0.0.1:$NGINX_PORT/page.html"
          "nginx-proxy=http://127.0.0.1:$PROXY_PORT/page.html")
processes+=("backend nginx=$NGINX_PID" "proxy nginx=$PROXY_PID")
compares+=("portal, static nginx backend:portal:direct:target"
           "nginx as a reverse proxy, same backend:nginx-proxy:direct:reference")
reports+=("support-insights=portal")
fi

targets+=("healthz=$PORTAL/healthz")

if has_backend datasette; then
DS_PORT=$(free_port)
# shellcheck disable=SC2086 # DATASETTE_OPTIONS is a list of options
(cd "$DS" && exec datasette serve data/catalog.db -m metadata.json -h 127.0.0.1 -p "$DS_PORT" $DATASETTE_OPTIONS) \
    > "$WORK/datasette.log" 2>&1 &
DS_PID=$!
wait_http "http://127.0.0.1:$DS_PORT$DATASETTE_PATH" 120
say "datasette: pid $DS_PID on 127.0.0.1:$DS_PORT (cd $DS && datasette serve data/catalog.db -m metadata.json" \
    "-h 127.0.0.1 -p $DS_PORT $DATASETTE_OPTIONS); $("$SQLITE3" "$DS/data/catalog.db" 'select count(*) from entries') rows in entries"
# A second external report in the catalog copy, on the Datasette URL, access as support-insights.
cat > "$WORK/catalog/backends/report-app.yaml" <<YAML
id: report-app
title: Report app
description: >-
  A dynamic report app (Datasette on a SQLite database of 100,000 rows), fronted by the portal
  under /x/report-app/; written by Benchmarks/proxy-overhead.sh into its catalog copy.
owner: support
url: http://127.0.0.1:$DS_PORT/
health_path: /-/versions.json
timeout: 5s
tags: [support]
access: [support, customer-success]
YAML
cat > "$WORK/catalog/reports/report-app.yaml" <<'YAML'
id: report-app
title: Report app
description: >-
  A dynamic report app (Datasette), shown by the portal and counted like any report; written by
  Benchmarks/proxy-overhead.sh into its catalog copy.
owner: support
kind: external
backend: report-app
entry: /
tags: [support]
access: [support, customer-success]
YAML
say "catalog copy: backends/report-app.yaml (url: http://127.0.0.1:$DS_PORT/) and reports/report-app.yaml added"
targets+=("ds-portal=$PORTAL/x/report-app${DATASETTE_PATH}" "ds-direct=http://127.0.0.1:$DS_PORT$DATASETTE_PATH")
processes+=("datasette=$DS_PID")
compares+=("portal, Datasette backend:ds-portal:ds-direct:target")
reports+=("report-app=ds-portal")
fi

"$ALMANAC" catalog check "$WORK/catalog" 2>&1 | tail -1 | sed 's/^/  almanac catalog check (copy): /'
STATE="$WORK/state.sqlite"
(cd "$REPO" && exec "$ALMANAC" serve --catalog "$WORK/catalog" --warehouse "$WAREHOUSE" --state "$STATE" \
    --artifacts "$WORK/artifacts" --as-of "$AS_OF" --web "$REPO/Web" --port "$PORT" --allow-anonymous-loopback \
    --no-schedule --log-level error) >"$WORK/almanac.log" 2>&1 &
ALMANAC_PID=$!
wait_http "$PORTAL/healthz"
say "almanac serve: pid $ALMANAC_PID on 127.0.0.1:$PORT"
processes=("portal=$ALMANAC_PID" "${processes[@]}")

# Every target answers 200; proxied bodies equal the direct ones.
url_of() { local t; for t in "${targets[@]}"; do [ "${t%%=*}" = "$1" ] && { echo "${t#*=}"; return; }; done; }
fetch() {   # fetch LABEL: saves the body as WORK/LABEL.body, prints "code size"
    curl -s -o "$WORK/$1.body" -w '%{http_code} %{size_download}\n' "$(url_of "$1")"
}
for t in "${targets[@]}"; do
    label=${t%%=*}
    read -r code size < <(fetch "$label")
    say "$label: HTTP $code, $size bytes ($(url_of "$label"))"
    [ "$code" = 200 ] || { tail -20 "$WORK/almanac.log" >&2; die "$label must answer 200"; }
done
probes_support=0; probes_app=0   # GETs of the proxied pages by curl (views, checked at the end)
if has_backend nginx; then
    cmp -s "$WORK/direct.body" "$WORK/root/page.html" || die "nginx does not serve the page's bytes"
    cmp -s "$WORK/portal.body" "$WORK/direct.body" || die "the portal's proxied body differs from the backend's"
    cmp -s "$WORK/nginx-proxy.body" "$WORK/direct.body" || die "the nginx proxy's body differs from the backend's"
    say "static page: portal, nginx proxy and direct bodies identical (cmp): $(stat -c %s "$WORK/direct.body") bytes"
    for label in portal direct nginx-proxy; do
        curl -s -D - -o /dev/null "$(url_of $label)" | tr -d '\r' | grep -v '^$' | sed "s/^/    $label header: /" \
            | cut -c1-220 || true
    done
    probes_support=2   # the body saved above and the header dump
fi
if has_backend datasette; then
    blank() { sed 's/Queries took [0-9.]*ms/Queries took Nms/' "$1"; }
    cmp -s <(blank "$WORK/ds-portal.body") <(blank "$WORK/ds-direct.body") \
        || die "the portal's proxied Datasette page differs from Datasette's (after blanking 'Queries took N ms')"
    say "Datasette page: portal and direct bodies identical after blanking 'Queries took N ms' (cmp):" \
        "$(stat -c %s "$WORK/ds-direct.body") bytes, $(grep -c '<tr' "$WORK/ds-direct.body") <tr> rows"
    for label in ds-portal ds-direct; do
        curl -s -D - -o /dev/null "$(url_of $label)" | tr -d '\r' | grep -v '^$' | sed "s/^/    $label header: /" \
            | cut -c1-220 || true
    done
    probes_app=2   # the body saved above and the header dump
fi
curl -s -D - -o /dev/null "$PORTAL/healthz" | tr -d '\r' | grep -v '^$' | sed "s/^/    healthz header: /" | cut -c1-220 || true

echo
args=()
for t in "${targets[@]}"; do args+=(--target "$t"); done
for p in "${processes[@]}"; do args+=(--process "$p"); done
for c in "${compares[@]}"; do args+=(--compare "$c"); done
python3 "$HERE/http_timing.py" proxy "${args[@]}" --rounds "$ROUNDS" --duration "$DURATION" --warmup "$WARMUP" \
    --threads "$THREADS" --connections "$CONNECTIONS" --lua "$HERE/wrk-report.lua" --out "$WORK/wrk" \
    --summary "$WORK/summary.json"

# Views of the external reports: stop the portal with SIGTERM (it flushes), then count.
stop_pid "$ALMANAC_PID" TERM; ALMANAC_PID=""
if [ -s "$WORK/almanac.log" ]; then
    say "almanac serve's log (level error):"
    head -20 "$WORK/almanac.log" | cut -c1-200 | sed 's/^/    /'
fi
for r in "${reports[@]}"; do
    report=${r%%=*}; label=${r#*=}
    if [ "$report" = support-insights ]; then probes=$probes_support; else probes=$probes_app; fi
    views=$("$SQLITE3" "$STATE" "select count(*) from views where item_id = '$report'")
    read -r completed in_flight < <(python3 - "$WORK/summary.json" "$label" <<'PY'
import json, sys
s, label = json.load(open(sys.argv[1])), sys.argv[2]
done = sum(v[label] for v in s["requests"].values()) + sum(v[label] for v in s["warmup_requests"].values())
# wrk does not count the requests still in flight when a run stops: at most one per connection per run.
runs = s["rounds"] * (2 if s["warmup"] > 0 else 1)
print(done, sum(c * runs for c in s["connections"].values()))
PY
    )
    expected=$(( completed + probes ))
    say "views: $views rows for '$report' in the state store; wrk completed $completed requests through the" \
        "portal's /x/$report/ (warm-ups and timed runs) + $probes curl GETs = $expected"
    diff=$(( views - expected ))
    if [ "$diff" -ge 0 ] && [ "$diff" -le "$in_flight" ]; then
        say "view counting, $report: OK (views - requests = $diff, within 0..$in_flight, the requests in flight when wrk stopped)"
    else
        say "view counting, $report: MISMATCH (views - requests = $diff; expected 0..$in_flight)"
    fi
done
say "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
say "removed $WORK"
