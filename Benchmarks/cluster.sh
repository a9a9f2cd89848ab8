#!/usr/bin/env bash
# Issue 20's throughput figures in one run, side by side, on PostgreSQL state (a throwaway cluster
# of this machine's PostgreSQL from scripts/with-postgres, held for the whole run, with its default
# durability: PG_DURABLE=1, as state-ingest.sh):
#
# (A) Scale-out. The morning mix of mixed-load.sh (mixed-wrk.lua with the same plan, proportions
#     and verification: company_load.py prepare/verify; READERS distinct readers through the SSO
#     headers, wrk -tTHREADS -cCONNECTIONS, WARMUP s, then DURATION s timed) against
#       1. one `almanac serve` on PostgreSQL state, wrk straight at it (as mixed-load.sh);
#       1b. the same portal behind nginx (what the load balancer alone costs);
#       2. two `almanac serve` on one PostgreSQL state behind nginx (Debian's; round robin over an
#          upstream with keepalive, `proxy_next_upstream error timeout`; its config, pid and error
#          log in a temp dir, not a daemon, on a free port). wrk plays the SSO proxy, so nginx
#          passes the identity headers through; the portals trust 127.0.0.1, where nginx is.
#     Each setup gets a fresh database. Printed per setup: req/s, p50/p90/p99/p99.9, non-2xx and
#     socket errors, CPU of the portals, nginx, PostgreSQL, wrk and everything else; then, after
#     the portals are stopped with SIGTERM (which writes every buffered view), the views in the
#     state store against the view-counting requests served: the portals' own counts from
#     /metrics (summed over both) and wrk's 2xx responses on view-counting routes (mixed-wrk.lua
#     matches each response to its request by the X-Request-ID the portal echoes) plus the
#     verification requests (company_load.py views; a view may be recorded for a request still in
#     flight when wrk stopped, so up to that many more views than requests is allowed). nginx's
#     error log is searched for upstream errors and for responses it had to buffer on disk.
#
# (B) PostgreSQL state against SQLite state. One report page (/reports/REPORT, growth-overview)
#     read by READERS distinct readers (readers-wrk.lua, as readers.sh), wrk -tTHREADS
#     -cCONNECTIONS, on one portal with `--state postgres://…` (a fresh database) and one with a
#     SQLite state file, both up for the whole part, ROUNDS round(s) of (WARMUP s, then DURATION s)
#     each, the order alternating. Printed: req/s, p50/p99/p99.9, errors, and PostgreSQL/SQLite
#     (issue 20's target: >= 90% of SQLite's req/s); afterwards the page's views in each state
#     store against the responses under 400 wrk read (+ 1 probe).
#
# Setup, shared by every portal: the demo warehouse at scale 1 (Benchmarks/.data/demo-scale1,
# written once by `almanac demo --no-serve`, as mixed-load.sh and readers.sh), every report
# generated once (`almanac generate --all`, as of AS_OF) into one artifacts folder with a SQLite
# state; each portal setup starts from a copy of that state: `almanac state migrate --to` into its
# fresh PostgreSQL database, or a SQLite copy (`.backup`). Portals run as company_portal in
# common.sh starts them (release binary, view counting on, trusted proxy 127.0.0.1, no schedule,
# no deliveries, PORTAL_ARGS) and are measured only once their search has read every entity.
#
# wrk, nginx, the portals and PostgreSQL all run on this machine and share its cores: on 2 cores,
# a second portal gets no core of its own, so (A) shows what a second instance costs or gains on
# the same cores, not what it gains on a second machine.
#
# Environment: DURATION (default 120 s, as mixed-load.sh; per timed run), WARMUP (10 s before each
# timed run), CONNECTIONS (64), THREADS (2), READERS (5000), ROUNDS (1; part B's rounds),
# REPORT (growth-overview), DOMAINS (600), ZIPF_S (1.0), MIX (mixed-load.sh's), VERIFY_CUSTOMERS
# (20), TIMEOUT (wrk's, 5 s), SEED (17), NGINX_KEEPALIVE (64: idle upstream connections kept per
# nginx worker), PG_DURABLE (1; 0 runs PostgreSQL without fsync), PARTS (AB; A or B runs one
# part), PORTAL_ARGS, LOG_LEVEL (the portals', error), USER_HEADER, GROUPS_HEADER, USER_AGENT,
# DATA_DIR, AS_OF, RESULTS_DIR (default Benchmarks/.data/results/cluster-TIME: wrk outputs, the
# portals' and nginx's logs, nginx.conf, metrics, JSON summaries), TMPDIR.
# About 5 x (WARMUP + DURATION) s for ROUNDS=1 plus ~2 min of setup: ~13 min by default.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

DURATION="${DURATION:-120}"
WARMUP="${WARMUP:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
READERS="${READERS:-5000}"
ROUNDS="${ROUNDS:-1}"
REPORT="${REPORT:-growth-overview}"
DOMAINS="${DOMAINS:-600}"
ZIPF_S="${ZIPF_S:-1.0}"
MIX="${MIX:-search=20,suggest=20,report=25,api=10,customer=10,home=5,browse=10}"
VERIFY_CUSTOMERS="${VERIFY_CUSTOMERS:-20}"
TIMEOUT="${TIMEOUT:-5}"
SEED="${SEED:-17}"
NGINX_KEEPALIVE="${NGINX_KEEPALIVE:-64}"
PARTS="${PARTS:-AB}"
DURATION="${DURATION%s}"; WARMUP="${WARMUP%s}"   # DURATION=5s works too
export COUNT_RESPONSES=1   # mixed-wrk.lua counts each class's statuses and the 2xx views

say "cluster benchmark: (A) the morning mix on 1 portal vs 2 portals behind nginx, (B) /reports/$REPORT on" \
    "PostgreSQL vs SQLite state; $READERS readers, wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up +" \
    "${DURATION}s timed per run; parts $PARTS"
machine_summary
say "cores: $(nproc); wrk, nginx, the portals and PostgreSQL all share them (nothing here is pinned)"
command -v python3 >/dev/null 2>&1 || apt_install python3
ensure_http_tools
ensure_sqlite3
ensure_pyyaml
ensure_almanac
check_user_agent
command -v psql >/dev/null 2>&1 || apt_install postgresql-client

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-cluster-bench.XXXXXX")"
chmod 755 "$WORK"   # nginx's workers (nobody) read their temp dirs below it
PORTAL_PIDS=()
NGINX_PID=""
PG_HOLDER=""
BG_PID=""
# On any exit (the end, an error, Ctrl-C, SIGTERM to this script): the step running in the
# background (e.g. wrk and its driver), nginx, every portal still up, then PostgreSQL
# (with-postgres stops its server and removes its files when its command ends), then the temp dir.
cleanup() {
    local pid
    [ -z "$BG_PID" ] || kill_tree "$BG_PID"
    stop_pid "$NGINX_PID" QUIT
    for pid in "${PORTAL_PIDS[@]}"; do stop_pid "$pid" TERM; done
    if [ -n "$PG_HOLDER" ]; then
        touch "$WORK/pg.stop"
        wait "$PG_HOLDER" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
results_dir cluster

# kill_tree PID: SIGTERM to the process and its descendants (found by parent id, children first).
kill_tree() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
    kill -TERM "$1" 2>/dev/null || true
}

# in_background COMMAND…: runs a long step as a background job and waits for it, so that a
# signal to this script is handled at once (bash runs a trap only after a foreground command
# ends) and cleanup can stop the step. Its exit status is the command's.
in_background() {
    "$@" &
    BG_PID=$!
    wait "$BG_PID"
    BG_PID=""
}

# The throwaway PostgreSQL: scripts/with-postgres (initdb in a temp dir, a free port; PG_DURABLE=1
# keeps PostgreSQL's default fsync and synchronous_commit, as state-ingest.sh) holds the server
# while its command waits for WORK/pg.stop (written by cleanup), or for this script to be gone.
# shellcheck disable=SC2016
PG_DURABLE="${PG_DURABLE:-1}" "$REPO/scripts/with-postgres" bash -c '
    printf "%s\n" "$ALMANAC_TEST_POSTGRES_URL" > "$1/pg.url.tmp" && mv "$1/pg.url.tmp" "$1/pg.url"
    while [ ! -e "$1/pg.stop" ] && kill -0 "$2" 2>/dev/null; do sleep 0.5; done
' _ "$WORK" "$$" > "$RESULTS/with-postgres.log" 2>&1 &
PG_HOLDER=$!
for _ in $(seq 1200); do
    [ -s "$WORK/pg.url" ] && break
    kill -0 "$PG_HOLDER" 2>/dev/null || { cat "$RESULTS/with-postgres.log" >&2; die "scripts/with-postgres exited"; }
    sleep 0.1
done
[ -s "$WORK/pg.url" ] || die "scripts/with-postgres started no PostgreSQL in 120 s (see $RESULTS/with-postgres.log)"
PG_URL=$(cat "$WORK/pg.url")

# --- helpers ------------------------------------------------------------------------------------

is_pg() { case "$1" in postgres://* | postgresql://*) return 0 ;; *) return 1 ;; esac; }

# state_sql STATE SQL: the answer of one query on a state store (a SQLite file, or a postgres://
# URL through psql), unaligned, tab-separated.
state_sql() {
    if is_pg "$1"; then
        psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -d "$1" -c "$2"
    else
        "$SQLITE3" -separator $'\t' "$1" "$2"
    fi
}

# new_pg_state NAME: a fresh database NAME in the throwaway cluster, the seed state copied into it
# with `almanac state migrate`. Sets NEW_STATE (its URL).
new_pg_state() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" -c "CREATE DATABASE $1" >/dev/null
    NEW_STATE="${PG_URL%/*}/$1"
    "$ALMANAC" state migrate --state "$SEED_STATE" --to "$NEW_STATE" 2>&1 | tail -1 | cut -c1-200 \
        | sed "s/^/  state migrate into database $1: /"
}

# new_sqlite_state NAME: a copy of the seed state in WORK/NAME.sqlite. Sets NEW_STATE.
new_sqlite_state() {
    NEW_STATE="$WORK/$1.sqlite"
    "$SQLITE3" "$SEED_STATE" ".backup '$NEW_STATE'"
}

ENTITIES=$(find "$REPO/Catalog/entities" -name '*.y*ml' | wc -l)

# start_portal NAME STATE: `almanac serve` (release) as company_portal starts it, on a free port,
# with the shared warehouse and artifacts and the state store STATE; waits until it answers
# /healthz, refuses a request without identity headers (401), and its search has read every
# entity from the warehouse (ENTITIES more `index` runs in the state store than before it started).
# Sets PORTAL_PID and PORTAL_URL; its log is RESULTS/NAME.log.
start_portal() {
    local name=$1 state=$2 port before indexed=0 code=""
    before=$(state_sql "$state" "SELECT count(*) FROM runs WHERE kind = 'index'")
    port=$(free_port)
    PORTAL_URL="http://127.0.0.1:$port"
    # shellcheck disable=SC2086
    (cd "$REPO" && exec "$ALMANAC" serve --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$state" \
        --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" --port "$port" \
        --trusted-proxy 127.0.0.1 --user-header "$USER_HEADER" --groups-header "$GROUPS_HEADER" \
        --no-schedule --no-delivery --log-level "${LOG_LEVEL:-error}" ${PORTAL_ARGS:-}) >"$RESULTS/$name.log" 2>&1 &
    PORTAL_PID=$!
    PORTAL_PIDS+=("$PORTAL_PID")
    for _ in $(seq 3000); do
        if ! kill -0 "$PORTAL_PID" 2>/dev/null; then
            tail -20 "$RESULTS/$name.log" | sed 's/^/    /' >&2
            die "portal $name (pid $PORTAL_PID) exited while starting; the end of its log is above"
        fi
        [ "$code" = 200 ] || code=$(curl -s -o /dev/null -w '%{http_code}' "$PORTAL_URL/healthz" || true)
        if [ "$code" = 200 ]; then
            indexed=$(state_sql "$state" "SELECT count(*) FROM runs WHERE kind = 'index'" 2>/dev/null || echo "$before")
            [ $(( ${indexed:-0} - before )) -ge "$ENTITIES" ] && break
        fi
        sleep 0.1
    done
    [ "$code" = 200 ] || die "portal $name answered no 200 at $PORTAL_URL/healthz in 300 s"
    [ $(( indexed - before )) -ge "$ENTITIES" ] \
        || die "portal $name's search read only $(( indexed - before )) of $ENTITIES entities in 300 s"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$PORTAL_URL/")
    [ "$code" = 401 ] || die "portal $name: GET / without identity headers answered $code, not 401"
    say "portal $name: pid $PORTAL_PID on $PORTAL_URL, state $(redact "$state"); search has read all $ENTITIES" \
        "entities; RSS $(awk '/^VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$PORTAL_PID/status")"
}

redact() { printf '%s' "$1" | sed -E 's#(postgres(ql)?://[^:/@]*):[^@]*@#\1:***@#'; }

# stop_portals PID...: one SIGTERM to each at once (a portal writes every buffered view before it
# exits), then waits for all (at most 30 s each, then KILL); prints how long they took.
stop_portals() {
    local pid started
    started=$(date +%s.%N)
    for pid in "$@"; do kill -s TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "portal pid $pid still running 30 s after SIGTERM: KILL (its buffered views are lost)"
            kill -s KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    say "portal(s) $* stopped with SIGTERM in $(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' \
        "$started" "$(date +%s.%N)") s"
    local kept=() p
    for p in "${PORTAL_PIDS[@]}"; do
        case " $* " in *" $p "*) ;; *) kept+=("$p") ;; esac
    done
    PORTAL_PIDS=("${kept[@]}")
}

# start_nginx PORT...: nginx (not a daemon, its own prefix, pid and error log in WORK/nginx) on a
# free port, round robin over the portals on 127.0.0.1:PORT..., upstream keepalive, HTTP/1.1 to
# the portals, the same proxy headers as deploy/compose/nginx (identity headers passed through:
# wrk is the SSO proxy here). Response buffers hold a whole page (the largest report pages are
# ~200 KB) so nginx does not spool them to temp files. Sets NGINX_PID and NGINX_URL.
start_nginx() {
    local ng="$WORK/nginx" port servers="" p
    mkdir -p "$ng"
    chmod 755 "$ng"
    for p in "$@"; do servers+="        server 127.0.0.1:$p;"$'\n'; done
    port=$(free_port)
    NGINX_URL="http://127.0.0.1:$port"
    cat > "$ng/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $ng/client-tmp;
    proxy_temp_path $ng/proxy-tmp;
    fastcgi_temp_path $ng/fastcgi-tmp;
    uwsgi_temp_path $ng/uwsgi-tmp;
    scgi_temp_path $ng/scgi-tmp;
    upstream portals {
$servers        keepalive $NGINX_KEEPALIVE;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://portals;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 90s;
            proxy_buffer_size 16k;
            proxy_buffers 32 16k;
            proxy_busy_buffers_size 64k;
        }
    }
}
NGINX
    cp "$ng/nginx.conf" "$RESULTS/nginx.conf"
    nginx -p "$ng/" -e "$ng/error.log" -c "$ng/nginx.conf" &
    NGINX_PID=$!
    wait_http "$NGINX_URL/healthz" 30
    say "nginx: pid $NGINX_PID on $NGINX_URL, round robin over $(printf '127.0.0.1:%s ' "$@")(keepalive $NGINX_KEEPALIVE," \
        "$(pgrep -P "$NGINX_PID" | wc -l) workers)"
}

# measure NAME URL LUA [GROUP=PID,PID…]… -- [KEY=VALUE]…: WARMUP s of wrk (not in the figures),
# then DURATION s timed (--latency), wrk's environment KEY=VALUE…; the CPU in the timed run of
# each GROUP of processes (each PID with its descendants), of wrk, and of everything else.
# Writes RESULTS/NAME.json ({"runs": [warm-up, timed]}: the WRKJSON lines, with the CPU) and
# RESULTS/NAME.{warmup,timed}.txt (wrk's outputs).
measure() {
    "$PYTHON" - "$HERE" "$RESULTS" "$DURATION" "$WARMUP" "$THREADS" "$CONNECTIONS" "$TIMEOUT" "$@" <<'PY'
import json, os, sys
here, results, duration, warmup, threads, connections, timeout, name, url, lua, *rest = sys.argv[1:]
sys.path.insert(0, here)
from argparse import Namespace
from bench_helper import busy_cpu_seconds, process_cpu_seconds, process_tree
from company_load import log, ms, socket_errors, wrk

sep = rest.index("--") if "--" in rest else len(rest)
groups = {k: [int(p) for p in v.split(",") if p] for k, v in (g.split("=", 1) for g in rest[:sep])}
env = dict(kv.split("=", 1) for kv in rest[sep + 1:])
args = Namespace(threads=int(threads), connections=int(connections), timeout=int(timeout), lua=lua)
runs = []
if int(warmup) > 0:
    w = wrk(args, url, int(warmup), env, os.path.join(results, f"{name}.warmup.txt"), latency=False)
    w["phase"] = "warm-up"
    runs.append(w)
    log(f"  {name} warm-up ({warmup} s): {w['rps']:,.0f} req/s, {w['requests']:,} requests, status > 399:"
        f" {w['err_status']}, socket errors {socket_errors(w)}")
trees = {k: [p for pid in pids for p in process_tree(pid)] for k, pids in groups.items()}
before = {k: process_cpu_seconds(v) for k, v in trees.items()}
busy_before = busy_cpu_seconds()
d = wrk(args, url, int(duration), env, os.path.join(results, f"{name}.timed.txt"))
busy_after = busy_cpu_seconds()
d["phase"] = "timed"
d["cpu"] = {k: process_cpu_seconds(v) - before[k] for k, v in trees.items()}
d["others"] = None if busy_before is None or busy_after is None else \
    max(0.0, busy_after - busy_before - sum(d["cpu"].values()) - d["wrk_cpu"])
runs.append(d)
cpu = ", ".join(f"{k} {v:.1f}" for k, v in d["cpu"].items())
others = "?" if d["others"] is None else f"{d['others']:.1f}"
non2xx = f"non-2xx {d['non2xx']}, " if "non2xx" in d else ""
log(f"  {name} timed ({duration} s): {d['rps']:,.1f} req/s, p50 {ms(d['p50_us'])} p90 {ms(d['p90_us'])}"
    f" p99 {ms(d['p99_us'])} p99.9 {ms(d['p999_us'])} max {ms(d['max_us'])} ms, {d['requests']:,} requests,"
    f" {d['bytes'] / max(1, d['requests']):,.0f} B/response; {non2xx}status > 399 {d['err_status']}, socket errors"
    f" {socket_errors(d)} (connect {d['err_connect']}, read {d['err_read']}, write {d['err_write']}, timeout"
    f" {d['err_timeout']}); CPU s: {cpu}, wrk {d['wrk_cpu']:.1f}, others {others}"
    f" (of {d['wall'] * (os.cpu_count() or 1):.0f} available)")
with open(os.path.join(results, f"{name}.json"), "w") as f:
    json.dump(dict(name=name, url=url, runs=runs), f, indent=1)
PY
}

# nginx_errors: what nginx's error log says (upstream errors: a portal refused, reset or timed
# out; warnings: responses spooled to disk), printed and counted.
nginx_errors() {
    local log="$WORK/nginx/error.log" upstream spooled
    [ -f "$log" ] || return 0
    cp "$log" "$RESULTS/nginx-error.log"
    upstream=$(grep 'upstream' "$log" | grep -vc 'buffered to a temporary file' || true)
    spooled=$(grep -c 'buffered to a temporary file' "$log" || true)
    say "nginx's error log: $(grep -c . "$log" || true) lines; $upstream upstream errors (a portal refused, reset" \
        "or timed out: the request went to the other one, or failed), $spooled responses spooled to disk"
    grep -v 'buffered to a temporary file' "$log" | grep -v '\[notice\]' | head -5 | cut -c1-220 | sed 's/^/    /' || true
    echo "$upstream" > "$RESULTS/nginx-upstream-errors.txt"
}

portal_log_lines() {  # NAME: the portal's log (level LOG_LEVEL), its first lines when any
    local n
    n=$(grep -c . "$RESULTS/$1.log" || true)
    if [ "$n" -gt 0 ]; then
        say "portal $1's log (level ${LOG_LEVEL:-error}): $n lines; the first:"
        head -5 "$RESULTS/$1.log" | cut -c1-200 | sed 's/^/    /'
    fi
}

PG_PID=$(head -1 "$(state_sql "$PG_URL" 'SHOW data_directory')/postmaster.pid")
say "PostgreSQL $(state_sql "$PG_URL" 'SHOW server_version'): postmaster pid $PG_PID, $(redact "$PG_URL")," \
    "fsync $(state_sql "$PG_URL" 'SHOW fsync'), synchronous_commit $(state_sql "$PG_URL" 'SHOW synchronous_commit')," \
    "max_connections $(state_sql "$PG_URL" 'SHOW max_connections')"

# --- the shared setup: warehouse, dashboards, seed state, readers and the mix -----------------------

demo_warehouse 1
SEED_STATE="$WORK/seed-state.sqlite"
ARTIFACTS="$WORK/artifacts"
say "almanac generate --all (as of $AS_OF) into $ARTIFACTS, with the seed state $SEED_STATE"
generate_all() {
    (cd "$REPO" && "$ALMANAC" generate --all --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$SEED_STATE" \
        --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" 2>&1 | tail -1 | cut -c1-200 | sed 's/^/  /')
}
in_background generate_all
"$PYTHON" "$HERE/company_load.py" prepare --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --out "$WORK" \
    --readers "$READERS" --domains "$DOMAINS" --zipf-s "$ZIPF_S" --mix "$MIX" --seed "$SEED"
cp "$WORK/plan.tsv" "$WORK/users.tsv" "$RESULTS/"
admin_groups=$("$PYTHON" -c 'import sys, yaml
print(",".join((yaml.safe_load(open(sys.argv[1])).get("settings") or {}).get("admin_groups") or []))' \
    "$REPO/Catalog/almanac.yaml")
admin_groups="${admin_groups:-data-platform}"
identity=(--users "$WORK/users.tsv" --user-header "$USER_HEADER" --groups-header "$GROUPS_HEADER"
    --user-agent "$USER_AGENT" --admin-groups "$admin_groups")
mix_env=(MIX_PLAN="$WORK/plan.tsv" MIX_USERS="$WORK/users.tsv" USER_HEADER="$USER_HEADER"
    GROUPS_HEADER="$GROUPS_HEADER" USER_AGENT="$USER_AGENT" ADMIN_GROUPS="$admin_groups" SEED="$SEED")

# mixed_setup NAME URL PORTAL_PID… -- [GROUP=PID]…: verify every URL of the mix through URL, run the
# mix, read each portal's /metrics, stop nginx and the portals, count the views (STATE).
mixed_setup() {
    local name=$1 url=$2 pids=() groups=() metrics=() pid i=0 probes
    shift 2
    while [ "$1" != -- ]; do pids+=("$1"); shift; done
    shift
    groups=("$@")
    say "[$name] verifying every URL of the mix through $url (one GET each, as a reader allowed to see it; all must answer 200):"
    in_background "$PYTHON" "$HERE/company_load.py" verify --base "$url" --plan "$WORK/plan.tsv" "${identity[@]}" \
        --sample "customer=$VERIFY_CUSTOMERS" --probes-out "$WORK/$name.probes"
    probes=$(cat "$WORK/$name.probes")
    say "[$name] the morning mix: ${WARMUP}s warm-up, then ${DURATION}s timed, wrk -t$THREADS -c$CONNECTIONS"
    in_background measure "$name" "$url" "$HERE/mixed-wrk.lua" "portals=$(IFS=,; echo "${pids[*]}")" "${groups[@]}" \
        "postgres=$PG_PID" -- "${mix_env[@]}"
    sleep 2   # the portals write their buffered views every second
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || die "portal pid $pid exited during the load (logs in $RESULTS)"
    done
    for u in "${PORTAL_URLS[@]}"; do
        i=$((i + 1))
        curl -s "$u/metrics" > "$RESULTS/$name.metrics-$i.txt" || true
        metrics+=(--metrics "$RESULTS/$name.metrics-$i.txt")
    done
    if [ -n "$NGINX_PID" ]; then
        stop_pid "$NGINX_PID" QUIT; NGINX_PID=""
        nginx_errors
    fi
    stop_portals "${pids[@]}"
    "$PYTHON" "$HERE/company_load.py" views --state "$STATE" "${metrics[@]}" --wrk-summary "$RESULTS/$name.json" \
        --probes "$probes" --connections "$CONNECTIONS" --out "$RESULTS/$name.views.json"
    echo "$probes" > "$RESULTS/$name.probes"
}

# --- (A) scale-out: one portal, then two behind nginx ------------------------------------------------

if [[ "$PARTS" == *A* ]]; then
    echo
    say "(A) scale-out, 1 portal on PostgreSQL state (wrk straight at it)"
    new_pg_state cluster_one; STATE=$NEW_STATE
    start_portal one "$STATE"
    PORTAL_URLS=("$PORTAL_URL")
    mixed_setup one "$PORTAL_URL" "$PORTAL_PID" --
    portal_log_lines one

    echo
    say "(A) scale-out, 1 portal on PostgreSQL state behind nginx (what nginx alone costs)"
    new_pg_state cluster_one_lb; STATE=$NEW_STATE
    start_portal one-lb "$STATE"; pid1=$PORTAL_PID; url1=$PORTAL_URL
    PORTAL_URLS=("$url1")
    start_nginx "${url1##*:}"
    mixed_setup one-lb "$NGINX_URL" "$pid1" -- "nginx=$NGINX_PID"
    portal_log_lines one-lb

    echo
    say "(A) scale-out, 2 portals on one PostgreSQL state behind nginx"
    new_pg_state cluster_two; STATE=$NEW_STATE
    start_portal two-1 "$STATE"; pid1=$PORTAL_PID; url1=$PORTAL_URL
    start_portal two-2 "$STATE"; pid2=$PORTAL_PID; url2=$PORTAL_URL
    PORTAL_URLS=("$url1" "$url2")
    start_nginx "${url1##*:}" "${url2##*:}"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/")
    [ "$code" = 401 ] || die "GET / through nginx without identity headers answered $code, not 401"
    mixed_setup two "$NGINX_URL" "$pid1" "$pid2" -- "nginx=$NGINX_PID"
    portal_log_lines two-1
    portal_log_lines two-2
    for i in 1 2; do
        n=$(python3 - "$RESULTS/two.metrics-$i.txt" <<'PY'
import sys
total = 0
for line in open(sys.argv[1]):
    if line.startswith("http_server_requests_total"):
        total += float(line.rsplit(None, 1)[-1])
print(int(total))
PY
)
        say "portal two-$i answered $n requests in all (its http_server_requests_total): the round robin's share"
    done
fi

# --- (B) one report page: PostgreSQL state vs SQLite state --------------------------------------------

if [[ "$PARTS" == *B* ]]; then
    echo
    say "(B) /reports/$REPORT, $READERS readers: one portal on PostgreSQL state, one on a SQLite state file"
    new_pg_state cluster_page; PG_STATE=$NEW_STATE
    new_sqlite_state page; SQLITE_STATE=$NEW_STATE
    start_portal page-pg "$PG_STATE"; PG_PORTAL_PID=$PORTAL_PID; PG_PORTAL_URL=$PORTAL_URL
    start_portal page-sqlite "$SQLITE_STATE"; SQ_PORTAL_PID=$PORTAL_PID; SQ_PORTAL_URL=$PORTAL_URL
    echo "/reports/$REPORT" > "$WORK/report.paths"
    IFS=$'\t' read -r ONE_USER ONE_GROUPS < <(head -1 "$WORK/users.tsv")
    for u in "$PG_PORTAL_URL" "$SQ_PORTAL_URL"; do
        read -r code size < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' -A "$USER_AGENT" \
            -H "$USER_HEADER: $ONE_USER" -H "$GROUPS_HEADER: $ONE_GROUPS" "$u/reports/$REPORT")
        [ "$code" = 200 ] || die "GET /reports/$REPORT at $u as $ONE_USER answered $code"
        say "  GET $u/reports/$REPORT as $ONE_USER: $code, $size bytes"
    done
    page_env=(PATHS="$WORK/report.paths" READERS_FILE="$WORK/users.tsv" READERS="$READERS"
        USER_HEADER="$USER_HEADER" GROUPS_HEADER="$GROUPS_HEADER" USER_AGENT="$USER_AGENT")
    for round in $(seq "$ROUNDS"); do
        order=(pg sqlite)
        [ $((round % 2)) = 0 ] && order=(sqlite pg)
        for which in "${order[@]}"; do
            if [ "$which" = pg ]; then pid=$PG_PORTAL_PID; url=$PG_PORTAL_URL; else pid=$SQ_PORTAL_PID; url=$SQ_PORTAL_URL; fi
            say "[page-$which round $round] ${WARMUP}s warm-up, then ${DURATION}s timed"
            in_background measure "page-$which-r$round" "$url" "$HERE/readers-wrk.lua" "portal=$pid" "postgres=$PG_PID" -- \
                "${page_env[@]}" SEED=$((SEED + round))
        done
    done
    sleep 2
    stop_portals "$PG_PORTAL_PID" "$SQ_PORTAL_PID"
    portal_log_lines page-pg
    portal_log_lines page-sqlite
    for which in pg sqlite; do
        if [ "$which" = pg ]; then state=$PG_STATE; else state=$SQLITE_STATE; fi
        state_sql "$state" "SELECT count(*) FROM views WHERE item_id = '$REPORT'" > "$RESULTS/page-$which.views"
    done
fi

# --- summary ----------------------------------------------------------------------------------------

echo
"$PYTHON" - "$HERE" "$RESULTS" "$PARTS" "$ROUNDS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$THREADS" "$READERS" "$REPORT" <<'PY'
import json, os, statistics, sys
here, results, parts, rounds, connections, duration, warmup, threads, readers, report = sys.argv[1:]
sys.path.insert(0, here)
from bench_helper import print_table as table  # noqa: E402
rounds, connections = int(rounds), int(connections)
load = lambda name: json.load(open(os.path.join(results, name)))  # noqa: E731
ms = lambda us: f"{us / 1000:.2f}"  # noqa: E731
sock = lambda d: d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]  # noqa: E731
cores = os.cpu_count() or 1




print(f"## Summary: wrk -t{threads} -c{connections}, {int(readers):,} distinct readers, {warmup} s warm-up +"
      f" {duration} s timed per run")
print()
print(f"Machine: {cores} cores. wrk, nginx, the portals and PostgreSQL all run on these same {cores} cores:"
      f" a second portal adds no CPU, only a second process competing for it.")
verdicts = []
if "A" in parts:
    print()
    print("### (A) Scale-out: the morning mix (mixed-load.sh's mixed-wrk.lua), PostgreSQL state")
    print()
    rows, rps, p99 = [], {}, {}
    for name, label in (("one", "1 portal (direct)"), ("one-lb", "1 portal behind nginx"),
                        ("two", "2 portals behind nginx")):
        runs = load(f"{name}.json")["runs"]
        d = runs[-1]
        v = load(f"{name}.views.json")
        probes = int(open(os.path.join(results, f"{name}.probes")).read())
        wrk_views = sum(r["views2xx"] for r in runs) + probes
        in_flight = sum(r["views_sent"] - r["views2xx"] - r["views_non2xx"] for r in runs)
        cpu = d["cpu"]
        others = "?" if d["others"] is None else f"{d['others']:.1f}"
        rps[name], p99[name] = d["rps"], d["p99_us"]
        rows.append([label, f"{d['rps']:,.1f}", ms(d["p50_us"]), ms(d["p99_us"]), ms(d["p999_us"]),
                     f"{sum(r['non2xx'] for r in runs)}; {sum(sock(r) for r in runs)}",
                     f"{v['stored']:,}", f"{wrk_views:,} ({v['stored'] - wrk_views:+,}; in flight {in_flight})",
                     "?" if v.get("served") is None else f"{v['served']:,} ({v['diff']:+,})",
                     "OK" if v["ok"] else "MISMATCH" if v["ok"] is not None else "unchecked",
                     f"{cpu.get('portals', 0):.1f} / {cpu.get('nginx', 0):.1f} / {cpu.get('postgres', 0):.1f}"
                     f" / {d['wrk_cpu']:.1f} / {others}"])
    table(["setup", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "non-2xx; socket errors (warm-up + timed)",
           "views recorded", "view requests read 2xx by wrk + verification (views - that)",
           "view requests served, /metrics (views - that)", "views check",
           "CPU s timed: portals / nginx / PostgreSQL / wrk / others"], rows)
    print()
    upstream = os.path.join(results, "nginx-upstream-errors.txt")
    print(f"2 portals vs 1: {rps['two'] / rps['one'] * 100:.1f}% of the req/s"
          f" ({rps['two']:,.1f} vs {rps['one']:,.1f}), p99 {p99['two'] / max(1, p99['one']):.2f}x; both behind nginx:"
          f" {rps['two'] / rps['one-lb'] * 100:.1f}% ({rps['two']:,.1f} vs {rps['one-lb']:,.1f}),"
          f" p99 {p99['two'] / max(1, p99['one-lb']):.2f}x; nginx upstream errors:"
          f" {open(upstream).read().strip() if os.path.exists(upstream) else '?'}")
    print("(views recorded: the state store's views table after SIGTERM; a view may be recorded for a request"
          " still in flight when wrk stopped, so views may exceed the requests by up to those in flight, never fall"
          " short: fewer means views were lost)")
if "B" in parts:
    print()
    print(f"### (B) /reports/{report}, {int(readers):,} readers, one portal each: PostgreSQL vs SQLite state")
    print()
    runs = {w: [load(f"page-{w}-r{r}.json")["runs"] for r in range(1, rounds + 1)] for w in ("pg", "sqlite")}
    timed = {w: [rs[-1] for rs in runs[w]] for w in runs}
    rows = []
    for w, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        for r, d in enumerate(timed[w], 1):
            rows.append([label, r, f"{d['rps']:,.1f}", ms(d["p50_us"]), ms(d["p99_us"]), ms(d["p999_us"]),
                         f"{d['err_status']}; {sock(d)}", f"{d['bytes'] / max(1, d['requests']):,.0f}",
                         f"{d['cpu'].get('portal', 0):.1f} / {d['cpu'].get('postgres', 0):.1f} / {d['wrk_cpu']:.1f}"
                         f" / {'?' if d['others'] is None else format(d['others'], '.1f')}"])
    table(["state", "round", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "status > 399; socket errors",
           "bytes/response", "CPU s timed: portal / PostgreSQL / wrk / others"], rows)
    ratios = [p["rps"] / s["rps"] for p, s in zip(timed["pg"], timed["sqlite"])]
    ratio = statistics.median(ratios)
    p99 = statistics.median(p["p99_us"] / max(1, s["p99_us"]) for p, s in zip(timed["pg"], timed["sqlite"]))
    print()
    print(f"PostgreSQL / SQLite req/s: {ratio * 100:.1f}%" + (f" (median of the rounds' {', '.join(f'{x * 100:.1f}%' for x in ratios)})" if rounds > 1 else "")
          + f"; p99 PostgreSQL / SQLite {p99:.2f}x. Issue 20's target, >= 90%: {'MET' if ratio >= 0.9 else 'MISSED'}")
    for w, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        stored = int(open(os.path.join(results, f"page-{w}.views")).read().strip() or 0)
        ok2xx = sum(d["requests"] - d["err_status"] for rs in runs[w] for d in rs) + 1
        nruns = sum(len(rs) for rs in runs[w])
        ok = 0 <= stored - ok2xx <= connections * nruns
        print(f"views of {report} recorded, {label}: {stored:,}; wrk's responses under 400 + 1 probe: {ok2xx:,}"
              f" (views - that {stored - ok2xx:+,}, allowed 0..{connections * nruns} in flight): {'OK' if ok else 'MISMATCH'}")
PY
echo
say "wrk outputs, logs, nginx.conf, /metrics and JSON summaries: $RESULTS"
say "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
