#!/usr/bin/env bash
# Proxy overhead of external reports: a report app's page fetched through the portal
# (`almanac serve`, release: GET /x/support-insights/page.html, which the portal forwards to the
# backend's base URL + page.html after its access check) against the same page fetched from the
# backend directly, same run, alternating. Targets: <= 1 ms added at p50, and throughput >= 70%
# of direct.
#
# Backend: nginx serving one generated static HTML page of about 20 KB (a support-ticket report
# with a table; deterministic) from a temp root on a free port, with its own minimal nginx.conf.
# Portal: a temp copy of Catalog/ whose backends/support-insights.yaml points at that nginx
# (Catalog/almanac.yaml already allow-lists 127.0.0.1), the demo warehouse at the default scale
# (nothing is read from it here), --allow-anonymous-loopback (the local admin, who may see the
# support-insights report), --no-schedule. Both URLs must answer 200 with identical bodies
# (checked with cmp; the proxied response adds headers such as a sandbox Content-Security-Policy).
# 1. Latency: `wrk -t1 -c1 -d${DURATION}s --latency`, portal and direct alternating, ROUNDS each;
#    added = portal p50 - direct p50 per round; the figure is the median over the rounds.
# 2. Throughput: `wrk -t2 -c${CONNECTIONS}`, the same way; ratio = portal req/s / direct req/s per
#    round; the figure is the median over the rounds.
# Every timed run follows a WARMUP-second wrk run on the same URL.
#
# Caveats: wrk, nginx and the portal share the same 2 cores, so under load the proxied path
# (wrk + portal + nginx) competes with itself for CPU, where the direct path has only wrk and
# nginx: the throughput ratio is pessimistic for the proxy. Every proxied HTML page also counts a
# view (the portal records views of external reports, in memory, flushed every second); the
# script checks the views table after stopping the portal.
#
# Environment: ROUNDS (default 3), DURATION (20, seconds), WARMUP (5), CONNECTIONS (32), THREADS
# (2), PAGE_BYTES (20000, approximate size of the page), DATA_DIR, AS_OF (2026-11-25), SQLITE3,
# TMPDIR. REBUILD=1 rebuilds the release binary first.
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

say "proxy-overhead benchmark: /x/support-insights/page.html through the portal vs nginx directly;" \
    "latency wrk -t1 -c1, throughput wrk -t$THREADS -c$CONNECTIONS, -d${DURATION}s, $ROUNDS rounds each"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-proxy-bench.XXXXXX")"
ALMANAC_PID=""
NGINX_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    stop_pid "$NGINX_PID" QUIT
    rm -rf "$WORK"
}
trap cleanup EXIT

demo_warehouse 1

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
    default_type text/plain;
    client_body_temp_path $WORK/nginx-tmp;
    proxy_temp_path $WORK/nginx-tmp;
    fastcgi_temp_path $WORK/nginx-tmp;
    uwsgi_temp_path $WORK/nginx-tmp;
    scgi_temp_path $WORK/nginx-tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/root;
    }
}
NGINX
chmod a+rx "$WORK" "$WORK/root"; chmod a+r "$WORK"/root/*   # nginx workers run as nobody
nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT/page.html"
say "backend nginx: pid $NGINX_PID on 127.0.0.1:$NGINX_PORT"

# The portal on a copy of the catalog whose support-insights backend is that nginx.
cp -r "$REPO/Catalog" "$WORK/catalog"
backend="$WORK/catalog/backends/support-insights.yaml"
grep -q '^url: http://127.0.0.1:8601/$' "$backend" || die "$backend no longer has url: http://127.0.0.1:8601/"
sed -i "s|^url: http://127.0.0.1:8601/\$|url: http://127.0.0.1:$NGINX_PORT/|" "$backend"
say "catalog copy: $(grep '^url:' "$backend") in backends/support-insights.yaml"
PORT=$(free_port)
STATE="$WORK/state.sqlite"
(cd "$REPO" && exec "$ALMANAC" serve --catalog "$WORK/catalog" --warehouse "$WAREHOUSE" --state "$STATE" \
    --artifacts "$WORK/artifacts" --as-of "$AS_OF" --web "$REPO/Web" --port "$PORT" --allow-anonymous-loopback \
    --no-schedule --log-level error) >"$WORK/almanac.log" 2>&1 &
ALMANAC_PID=$!
wait_http "http://127.0.0.1:$PORT/healthz"
say "almanac serve: pid $ALMANAC_PID on 127.0.0.1:$PORT"

PROXIED="http://127.0.0.1:$PORT/x/support-insights/page.html"
DIRECT="http://127.0.0.1:$NGINX_PORT/page.html"
read -r code_p size_p < <(curl -s -o "$WORK/proxied.html" -w '%{http_code} %{size_download}\n' "$PROXIED")
read -r code_d size_d < <(curl -s -o "$WORK/direct.html" -w '%{http_code} %{size_download}\n' "$DIRECT")
say "proxied: HTTP $code_p, $size_p bytes; direct: HTTP $code_d, $size_d bytes"
[ "$code_p" = 200 ] && [ "$code_d" = 200 ] || { tail -20 "$WORK/almanac.log" >&2; die "both URLs must answer 200"; }
cmp -s "$WORK/proxied.html" "$WORK/direct.html" || die "the proxied body differs from the backend's"
cmp -s "$WORK/direct.html" "$WORK/root/page.html" || die "nginx does not serve the page's bytes"
say "bodies identical (cmp): $size_p bytes"
curl -s -D - -o /dev/null "$PROXIED" | tr -d '\r' | grep -v '^$' | sed 's/^/    portal header: /' | cut -c1-220 || true
curl -s -D - -o /dev/null "$DIRECT" | tr -d '\r' | grep -v '^$' | sed 's/^/    direct header: /' | cut -c1-220 || true
probes=2   # curl GETs of the proxied page so far: the saved body and the header dump

echo
python3 "$HERE/http_timing.py" proxy --portal "$PROXIED" --direct "$DIRECT" --portal-pid "$ALMANAC_PID" \
    --backend-pid "$NGINX_PID" --rounds "$ROUNDS" --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS" \
    --connections "$CONNECTIONS" --lua "$HERE/wrk-report.lua" --out "$WORK/wrk" --summary "$WORK/summary.json"

# Views of the external report: stop the portal with SIGTERM (it flushes), then count.
stop_pid "$ALMANAC_PID" TERM; ALMANAC_PID=""
if [ -s "$WORK/almanac.log" ]; then
    say "almanac serve's log (level error):"
    head -20 "$WORK/almanac.log" | cut -c1-200 | sed 's/^/    /'
fi
views=$("$SQLITE3" "$STATE" "select count(*) from views where item_id = 'support-insights'")
read -r completed in_flight < <(python3 - "$WORK/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
done = sum(v["portal"] for v in s["requests"].values()) + sum(v["portal"] for v in s["warmup_requests"].values())
# wrk does not count the requests still in flight when a run stops: at most one per connection per run.
runs = s["rounds"] * (2 if s["warmup"] > 0 else 1)
print(done, sum(c * runs for c in s["connections"].values()))
PY
)
expected=$(( completed + probes ))
say "views: $views rows for 'support-insights' in the state store; wrk completed $completed requests through the" \
    "portal (warm-ups and timed runs) + $probes curl GETs = $expected"
diff=$(( views - expected ))
if [ "$diff" -ge 0 ] && [ "$diff" -le "$in_flight" ]; then
    say "view counting: OK (views - requests = $diff, within 0..$in_flight, the requests in flight when wrk stopped)"
else
    say "view counting: MISMATCH (views - requests = $diff; expected 0..$in_flight)"
fi
say "removed $WORK"
