#!/usr/bin/env bash
# A company's morning on one portal (issue 17): `almanac serve` (release, view counting on, behind
# a trusted SSO proxy) under a mixed workload replayed by wrk (mixed-wrk.lua), 64 connections,
# 5,000 distinct readers (each request's X-Forwarded-User drawn from 5,000 names, with that
# person's X-Forwarded-Groups: one or two of the catalog's groups), a browser's User-Agent.
# The mix (MIX; company_load.py prepare writes the URLs and weights into plan.tsv):
#   search 20%    /search?q=…: 54 queries (names, synonyms, a typo, phrases, filters, customers)
#   suggest 20%   /api/suggest?q=…: the prefixes of 26 words as they are typed (213 prefixes)
#   report 25%    /reports/{id}: the 27 active dashboards, Zipf-like (popular ones first); the two
#                 restricted ones only for readers in their access groups (or admins)
#   api 10%       /api/reports/{id}, /api/home, /api/glossary, /api/glossary/{metric}, /api/reports,
#                 /api/teams, /api/search?q=…, /api/reports/{id}/data
#   customer 10%  /templates/customer?domain=…: DOMAINS (600) customers from the demo warehouse, the
#                 major accounts first, Zipf-like (s = ZIPF_S) so popular customers recur
#   home 5%       /
#   browse 10%    /browse (kind, team, tag), /glossary, /glossary/{metric}, /teams, /teams/{team}
# Before measuring, every URL is requested once as a reader allowed to see it and must answer 200
# (customers: a sample of VERIFY_CUSTOMERS spread over the popularity ranks, so the verification
# does not pre-render every customer's dashboard).
#
# Printed: total req/s, p50/p90/p99/p99.9/max (wrk's histogram, from the Lua done() callback; wrk
# corrects it for coordinated omission, so one slow response also counts as the requests it held up),
# non-2xx and socket errors, per class the requests sent, completed, 2xx/3xx/4xx/5xx and 2xx views
# (a response finds its class through the X-Request-ID the portal echoes), CPU of the portal, wrk
# and everything else; when /metrics has the portal's request histogram, its latency per route over
# the timed run (p50/p99/p99.9 as bucket bounds: wrk cannot time one class apart); the portal's RSS (VmRSS every RSS_EVERY s into a CSV; min/max/last, the
# first RSS_WINDOW s of the timed run against the last, and ten points over time); and after a
# graceful stop (SIGTERM: the portal writes every buffered view), the views in the state store
# against the view-counting requests the portal served (see company_load.py views).
# soak.sh runs this script with MODE=soak: 10 minutes, and the checks become a PASS/FAIL verdict.
#
# Environment: DURATION (default 120 s; soak 600), WARMUP (10 s of the same mix before the timed
# run; soak 960), CONNECTIONS (64), THREADS (2), READERS (5000), DOMAINS (600), ZIPF_S (1.0), MIX
# (search=20,suggest=20,report=25,api=10,customer=10,home=5,browse=10), VERIFY_CUSTOMERS (20),
# RSS_EVERY (2 s; soak 5), RSS_WINDOW (min(60, DURATION/3) s), RSS_GROWTH_MAX (10, percent; soak
# verdict), TIMEOUT (wrk's, 5 s: a slower response counts as a timeout error), SEED, USER_HEADER,
# GROUPS_HEADER, USER_AGENT, COUNT_RESPONSES (1; 0 drops wrk's response() hook, which costs wrk
# ~230 µs of CPU per 200 KB page: then only requests sent are known per class, non-2xx means status
# > 399, and views are checked only against /metrics), PORTAL_ARGS (more `almanac serve` options,
# e.g. "--page-cache-mb 32 --template-cache-mb 64"), LOG_LEVEL (the portal's, error), DATA_DIR,
# AS_OF, RESULTS_DIR (default Benchmarks/.data/results/MODE-TIME: rss.csv, plan.tsv, users.tsv,
# wrk outputs, metrics.txt), TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

MODE="${MODE:-mixed}"
if [ "$MODE" = soak ]; then
    DURATION="${DURATION:-600}"; WARMUP="${WARMUP:-960}"; RSS_EVERY="${RSS_EVERY:-5}"
else
    DURATION="${DURATION:-120}"; WARMUP="${WARMUP:-10}"; RSS_EVERY="${RSS_EVERY:-2}"
fi
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
READERS="${READERS:-5000}"
DOMAINS="${DOMAINS:-600}"
ZIPF_S="${ZIPF_S:-1.0}"
MIX="${MIX:-search=20,suggest=20,report=25,api=10,customer=10,home=5,browse=10}"
VERIFY_CUSTOMERS="${VERIFY_CUSTOMERS:-20}"
RSS_WINDOW="${RSS_WINDOW:-0}"
RSS_GROWTH_MAX="${RSS_GROWTH_MAX:-10}"
TIMEOUT="${TIMEOUT:-5}"
SEED="${SEED:-17}"
export COUNT_RESPONSES="${COUNT_RESPONSES:-1}"   # read by mixed-wrk.lua

say "$MODE benchmark: the morning mix, $READERS readers, wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up +" \
    "${DURATION}s timed"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_pyyaml
ensure_almanac
check_user_agent

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-$MODE-bench.XXXXXX")"
ALMANAC_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
results_dir "$MODE"

company_portal "$WORK"
"$PYTHON" "$HERE/company_load.py" prepare --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --out "$WORK" \
    --readers "$READERS" --domains "$DOMAINS" --zipf-s "$ZIPF_S" --mix "$MIX" --seed "$SEED"
cp "$WORK/plan.tsv" "$WORK/users.tsv" "$RESULTS/"
admin_groups=$("$PYTHON" -c 'import sys, yaml
print(",".join((yaml.safe_load(open(sys.argv[1])).get("settings") or {}).get("admin_groups") or []))' \
    "$REPO/Catalog/almanac.yaml")
admin_groups="${admin_groups:-data-platform}"   # readers in these groups see every restricted URL

identity=(--users "$WORK/users.tsv" --user-header "$USER_HEADER" --groups-header "$GROUPS_HEADER"
    --user-agent "$USER_AGENT" --admin-groups "$admin_groups")
say "verifying every URL of the mix (one GET each, as a reader allowed to see it; all must answer 200):"
"$PYTHON" "$HERE/company_load.py" verify --base "$BASE" --plan "$WORK/plan.tsv" "${identity[@]}" \
    --sample "customer=$VERIFY_CUSTOMERS" --probes-out "$WORK/probes.txt"
probes=$(cat "$WORK/probes.txt")
have_metrics=no
curl -s "$BASE/metrics" > "$WORK/metrics-before.txt" || true
if grep -q '^http_server_requests_total' "$WORK/metrics-before.txt"; then have_metrics=yes; fi
say "/metrics has http_server_requests_total: $have_metrics" \
    "(views are checked against it when it has, else against wrk's count)"

"$PYTHON" "$HERE/company_load.py" mixed --url "$BASE" --pid "$ALMANAC_PID" --plan "$WORK/plan.tsv" \
    "${identity[@]}" --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS" --connections "$CONNECTIONS" \
    --timeout "$TIMEOUT" --seed "$SEED" --rss-every "$RSS_EVERY" --rss-window "$RSS_WINDOW" \
    --rss-csv "$RESULTS/rss.csv" --lua "$HERE/mixed-wrk.lua" --out "$RESULTS" --summary "$RESULTS/summary.json"

# Views: let the portal write what it buffered (every second), read what it says it served, stop
# it gracefully (SIGTERM writes every view accepted before it), then count the state store.
sleep 2
if ! kill -0 "$ALMANAC_PID" 2>/dev/null; then
    tail -20 "$WORK/almanac.log" | sed 's/^/    /' >&2
    die "the portal (pid $ALMANAC_PID) exited during the load; the end of its log is above"
fi
curl -s "$BASE/metrics" > "$RESULTS/metrics.txt" || true
rss_end=$(awk '/^VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$ALMANAC_PID/status")
hwm=$(awk '/^VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$ALMANAC_PID/status")
say "stopping the portal (pid $ALMANAC_PID) with SIGTERM; RSS before the stop $rss_end (peak $hwm)"
stopped=$(date +%s.%N)
stop_pid "$ALMANAC_PID" TERM; ALMANAC_PID=""
say "stopped in $("$PYTHON" -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' \
    "$stopped" "$(date +%s.%N)") s"
"$PYTHON" "$HERE/company_load.py" views --state "$STATE" --metrics "$RESULTS/metrics.txt" \
    --wrk-summary "$RESULTS/summary.json" --probes "$probes" --connections "$CONNECTIONS" --out "$RESULTS/views.json"

errors_in_log=$(grep -c . "$WORK/almanac.log" || true)
if [ "$errors_in_log" -gt 0 ]; then
    say "almanac serve's log (level ${LOG_LEVEL:-error}): $errors_in_log lines; the first:"
    head -10 "$WORK/almanac.log" | cut -c1-200 | sed 's/^/    /'
    cp "$WORK/almanac.log" "$RESULTS/"
fi

# The checks (a verdict in soak mode; information otherwise).
read -r errors growth window views_ok outside < <("$PYTHON" - "$RESULTS/summary.json" "$RESULTS/views.json" <<'PY'
import json, sys
s, v = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
errors = sum((r["non2xx"] if r["counted"] else r["err_status"]) + r["unmatched"]
             + r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"] for r in s["runs"])
growth = s.get("rss_growth_pct")
outside = s.get("outside_growth_pct")
print(errors, "nan" if growth is None else f"{growth:.1f}", s.get("rss_window", 0),
      "unchecked" if v["ok"] is None else "yes" if v["ok"] else "no", "nan" if outside is None else f"{outside:.1f}")
PY
)
reference=$("$PYTHON" -c 'import json, sys
print(json.load(open(sys.argv[1])).get("rss_reference", "the first minute of the timed run"))' "$RESULTS/summary.json")
echo
verdict=PASS
check() {  # NAME OK(yes/no) DETAIL
    local word=OK
    if [ "$2" = unchecked ]; then word="NOT CHECKED"; verdict=FAIL
    elif [ "$2" != yes ]; then word=FAILED; verdict=FAIL; fi
    say "check: $1: $word ($3)"
}
[ "$MODE" = soak ] || say "the soak's checks, for information" \
    "(soak.sh makes them a verdict; a short run's RSS is still warming up):"
check "no errors over the warm-up and the timed run" "$([ "$errors" = 0 ] && echo yes || echo no)" \
    "$errors non-2xx, socket errors, timeouts over ${TIMEOUT} s and unmatched responses"
# Flat: RSS grew at most RSS_GROWTH_MAX percent, or, while the bounded caches were still filling
# toward their stated bounds (figures above), RSS outside them did; from the warm-up's last
# RSS_WINDOW when the warm-up holds it twice (company_load.py says why), else from the timed
# run's first.
flat=$("$PYTHON" -c 'import math, sys; g, o, m = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print("yes" if (not math.isnan(g) and g <= m) or (not math.isnan(o) and o <= m) else "no")' \
    "$growth" "$outside" "$RSS_GROWTH_MAX")
check "RSS flat after the warm-up" "$flat" \
    "median RSS of the timed run's last ${window} s vs ${reference}: ${growth}%; outside the bounded caches: ${outside}%; allowed <= ${RSS_GROWTH_MAX}% (either)"
check "every view recorded once" "$views_ok" "see the views lines above"
say "rss.csv, plan.tsv, users.tsv, wrk outputs, metrics.txt: $RESULTS"
say "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$MODE" = soak ]; then
    say "Soak ($DURATION s after a $WARMUP s warm-up): $verdict"
    [ "$verdict" = PASS ] || exit 1
fi
