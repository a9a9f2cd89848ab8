# Shared setup for the benchmark scripts; sourced, not run. Expects REPO to be set.

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    say "installing with apt-get: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# PYTHON: an interpreter whose PyYAML has the libyaml bindings (yaml.CSafeLoader).
has_cyaml() { "$1" -c 'import yaml, sys; sys.exit(0 if yaml.__with_libyaml__ and hasattr(yaml, "CSafeLoader") else 1)' 2>/dev/null; }
ensure_pyyaml() {
    PYTHON="${PYTHON:-python3}"
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        apt_install python3 python3-yaml
        PYTHON=python3
    fi
    if ! has_cyaml "$PYTHON"; then
        say "PyYAML with libyaml is missing for $PYTHON; installing it"
        "$PYTHON" -m pip install --quiet PyYAML 2>/dev/null || true
        if ! has_cyaml "$PYTHON"; then
            apt_install python3-yaml
            if has_cyaml /usr/bin/python3; then PYTHON=/usr/bin/python3; fi
        fi
        has_cyaml "$PYTHON" || die "could not get PyYAML with yaml.CSafeLoader (libyaml) for $PYTHON"
    fi
    say "python: $("$PYTHON" -c 'import sys, yaml; print(sys.executable, sys.version.split()[0], "PyYAML", yaml.__version__, "libyaml", yaml.__with_libyaml__)')"
}

ensure_sqlite3() {
    SQLITE3="${SQLITE3:-sqlite3}"
    if ! command -v "$SQLITE3" >/dev/null 2>&1; then
        apt_install sqlite3
        SQLITE3=sqlite3
    fi
    say "sqlite3 CLI: $(command -v "$SQLITE3") $("$SQLITE3" --version | cut -d' ' -f1-2)"
}

# ALMANAC: the release binary in REPO/.build-release (never REPO/.build); ALMANAC_BENCH: the
# in-process benchmarks' binary beside it (almanac-bench, not shipped). Built when missing, or
# always with REBUILD=1.
ensure_almanac() {
    local scratch="$REPO/.build-release"
    ALMANAC="$scratch/release/almanac"
    ALMANAC_BENCH="$scratch/release/almanac-bench"
    # Another build's binary (e.g. the code before a change, to compare in one session).
    if [ -n "${ALMANAC_BIN:-}" ]; then
        [ -x "$ALMANAC_BIN" ] || die "ALMANAC_BIN=$ALMANAC_BIN is not an executable"
        ALMANAC="$ALMANAC_BIN"
        say "almanac: $ALMANAC (ALMANAC_BIN)"
        return
    fi
    if [ ! -x "$ALMANAC" ] || [ ! -x "$ALMANAC_BENCH" ] || [ "${REBUILD:-0}" = 1 ]; then
        command -v swift >/dev/null 2>&1 || die "swift is not installed; it is needed to build the release binary"
        say "building the release binaries into $scratch (the first build takes ~15 min on 2 cores)"
        (cd "$REPO" && swift build -c release --product almanac --scratch-path "$scratch" \
            && swift build -c release --product almanac-bench --scratch-path "$scratch")
    fi
    [ -x "$ALMANAC" ] || die "no release binary at $ALMANAC"
    [ -x "$ALMANAC_BENCH" ] || die "no release binary at $ALMANAC_BENCH"
    say "almanac: $ALMANAC (built $(date -r "$ALMANAC" '+%Y-%m-%d %H:%M'); REBUILD=1 rebuilds it)"
    local newer
    newer=$(find "$REPO/Sources" -name '*.swift' -newer "$ALMANAC" 2>/dev/null | head -3 || true)
    if [ -n "$newer" ]; then
        say "note: some Sources/ files are newer than the binary (e.g. ${newer//$'\n'/, }); REBUILD=1 to measure them"
    fi
}

machine_summary() {
    say "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
    if command -v swift >/dev/null 2>&1; then say "swift: $(swift --version 2>&1 | head -1)"; fi
    say "load average before the run (other work on the machine skews timings): $(cut -d' ' -f1-3 /proc/loadavg)"
    say "repo: $REPO @ $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet -- Sources 2>/dev/null || echo ' (Sources/ has uncommitted changes)')"
}

# --- helpers of generation-overhead.sh and serve-dashboard.sh ----------------------------------

# AS_OF: the fixed last day of the demo data and of every dashboard, so figures are reproducible.
AS_OF="${AS_OF:-2026-11-25}"

# demo_warehouse SCALE: the demo company's warehouse at that scale, written once with
# `almanac demo --no-serve` into DATA_DIR/demo-scaleN (default Benchmarks/.data/, git-ignored)
# and reused by later runs (the demo command itself skips a warehouse that has the same options).
# Sets WAREHOUSE. Needs ALMANAC and REPO.
demo_warehouse() {
    local scale=$1 dir
    dir="${DATA_DIR:-$REPO/Benchmarks/.data}/demo-scale$scale"
    mkdir -p "$dir"
    WAREHOUSE="$dir/warehouse.sqlite"
    if [ -f "$WAREHOUSE" ]; then
        say "demo warehouse, scale $scale: reusing $WAREHOUSE if its options match (almanac demo decides)"
    else
        say "demo warehouse, scale $scale: writing $WAREHOUSE (scale 10 takes a few minutes)"
    fi
    local args=(demo --no-serve --dir "$dir" --as-of "$AS_OF")
    if [ "$scale" != 1 ]; then args+=(--scale "$scale"); fi
    (cd "$REPO" && "$ALMANAC" "${args[@]}" --log-level error 2> >(grep -v '^progress ' >&2)) | tail -1 \
        | cut -c1-200 | sed 's/^/  almanac demo: /'
    [ -f "$WAREHOUSE" ] || die "almanac demo did not write $WAREHOUSE"
}

# nginx and wrk from Debian (never started as a system service: Debian's policy-rc.d or
# update-rc.d keep it off; the scripts start their own nginx and stop it by PID).
ensure_http_tools() {
    if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
        apt_install nginx wrk curl
        update-rc.d nginx disable >/dev/null 2>&1 || true
    fi
    say "nginx: $(nginx -v 2>&1 | cut -d' ' -f3-); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f2)"
}

# perf (Debian package linux-perf), for the profiles; returns 1 when it cannot be had.
ensure_perf() {
    command -v perf >/dev/null 2>&1 || apt_install linux-perf || true
    command -v perf >/dev/null 2>&1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_http URL [SECONDS]: until URL answers 200 (default: at most 60 s).
wait_http() {
    local url=$1 tries=$(( ${2:-60} * 10 ))
    for _ in $(seq "$tries"); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ] && return 0
        sleep 0.1
    done
    die "nothing answered 200 at $url"
}

# stop_pid PID [SIGNAL]: signal one process we started and wait for it (at most 30 s, then KILL).
stop_pid() {
    local pid=$1 sig=${2:-TERM}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -s KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
}

# --- helpers of search-engines.sh and search-http.sh ---------------------------------------------

# search_harness N: a writable copy of the shared search harness (SHARED_BENCH/search, read-only)
# in DATA_DIR/search-harness (default Benchmarks/.data/, git-ignored), its Python requirements,
# the query set (QSEED, NQ) and the catalog of N entries (SEED), made exactly as the harness's
# run_all.sh makes them (a catalog is reused while its manifest matches N, seed and format).
# The harness's own files are copied again on every call, so its latest version runs; data/ and
# results/ stay. Sets HARNESS (the copy) and SEARCH_DATA (data/nN, relative to HARNESS).
search_harness() {
    local n=$1 src
    SHARED_BENCH="${SHARED_BENCH:-$REPO/../shared/bench}"
    src="$SHARED_BENCH/search"
    [ -f "$src/bench_common.py" ] || die "no search harness at $src (set SHARED_BENCH to the folder holding search/)"
    HARNESS="${DATA_DIR:-$REPO/Benchmarks/.data}/search-harness"
    mkdir -p "$HARNESS"
    find "$src" -maxdepth 1 -type f -exec cp -f {} "$HARNESS/" \;
    chmod -R u+w "$HARNESS"
    say "search harness: $(cd "$src" && pwd) copied to $HARNESS"
    if ! (cd "$HARNESS" && python3 -c 'import yaml, tantivy, whoosh' 2>/dev/null); then
        say "installing the harness's requirements (pip install -r requirements.txt)"
        (cd "$HARNESS" && python3 -m pip install -q -r requirements.txt 2>&1 | grep -v "as the 'root' user" || true)
        (cd "$HARNESS" && python3 -c 'import yaml, tantivy, whoosh') || die "the harness's requirements did not install"
    fi
    SEED="${SEED:-42}"; QSEED="${QSEED:-7}"; NQ="${NQ:-400}"
    (cd "$HARNESS" && python3 gen_queries.py --seed "$QSEED" --n "$NQ" --out data/queries.txt) | sed 's/^/  queries: /'
    SEARCH_DATA="data/n$n"
    if (cd "$HARNESS" && python3 - "$SEARCH_DATA" "$n" "$SEED" <<'PY'
import json, os, sys
from gen_catalog import CATALOG_FORMAT
d, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    m = json.load(open(os.path.join(d, "manifest.json")))
    ok = (m["entries"] == n and m["seed"] == seed and m.get("yaml")
          and m["format"] == CATALOG_FORMAT)
except Exception:
    ok = False
sys.exit(0 if ok else 1)
PY
    ); then
        say "catalog N=$n: reusing $HARNESS/$SEARCH_DATA (same entries/seed/format; delete it to regenerate)"
    else
        say "catalog N=$n: generating $HARNESS/$SEARCH_DATA (gen_catalog.py --entries $n --seed $SEED; ~15 s at 100k)"
        (cd "$HARNESS" && python3 gen_catalog.py --entries "$n" --seed "$SEED" --out "$SEARCH_DATA")
        if [ "$n" -le 20000 ]; then (cd "$HARNESS" && python3 verify_catalog.py "$SEARCH_DATA"); fi
    fi
    say "catalog: $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["entries"], "entries", m["kinds"], "sha256", m["catalog_jsonl_sha256"][:16])' "$HARNESS/$SEARCH_DATA/manifest.json")"
}

# --- helpers of proxy-overhead.sh -----------------------------------------------------------------

# datasette_harness: a writable copy of the shared HTTP baseline (SHARED_BENCH/http, read-only) in
# DATA_DIR/http-bench/http, its Python requirements (pip install -r requirements.txt: datasette,
# sqlite-utils) and its data/catalog.db, built by its build_db.py from the search harness's
# 100,000-entry catalog (search_harness 100000), the same steps as the baseline's run.sh and
# search-http.sh (which shares the copy and its catalog.db). Idempotent: catalog.db is reused
# unless missing, older than the catalog it is built from, or REBUILD_DB=1. Sets DS (the copy).
datasette_harness() {
    search_harness 100000   # build_db.py reads ../search/data/n100000/catalog.jsonl
    [ -f "$SHARED_BENCH/http/build_db.py" ] || die "no HTTP baseline at $SHARED_BENCH/http"
    local http_bench="${DATA_DIR:-$REPO/Benchmarks/.data}/http-bench"
    DS="$http_bench/http"
    mkdir -p "$DS/lua"
    find "$SHARED_BENCH/http" -maxdepth 1 -type f -exec cp -f {} "$DS/" \;
    cp -f "$SHARED_BENCH/http/lua/"*.lua "$DS/lua/"
    chmod -R u+w "$DS"
    ln -sfn "$HARNESS" "$http_bench/search"
    say "Datasette baseline: $(cd "$SHARED_BENCH/http" && pwd) copied to $DS"
    if ! python3 -c 'import datasette, sqlite_utils' 2>/dev/null || ! command -v datasette >/dev/null 2>&1; then
        say "installing the baseline's requirements (pip install -r requirements.txt: datasette, sqlite-utils)"
        (cd "$DS" && python3 -m pip install -q -r requirements.txt 2>&1 | grep -v "as the 'root' user" || true)
        command -v datasette >/dev/null 2>&1 || die "datasette did not install"
    fi
    if [ ! -f "$DS/data/catalog.db" ] || [ "${REBUILD_DB:-0}" = 1 ] \
        || [ "$HARNESS/$SEARCH_DATA/catalog.jsonl" -nt "$DS/data/catalog.db" ]; then
        say "building $DS/data/catalog.db (build_db.py, ~10 s)"
        (cd "$DS" && python3 build_db.py) | sed 's/^/  /'
    else
        say "reusing $DS/data/catalog.db ($(du -m "$DS/data/catalog.db" | cut -f1) MB; REBUILD_DB=1 rebuilds it)"
    fi
    say "versions: $(datasette --version), $(sqlite-utils --version), SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
}

# --- helpers of readers.sh, mixed-load.sh and soak.sh (issue 17: a whole company on one portal) ---

# What the SSO proxy sends the portal (the portal's own defaults, `--user-header`/`--groups-header`),
# and a browser's User-Agent: the load is people, never a client the portal treats as automated.
USER_HEADER="${USER_HEADER:-X-Forwarded-User}"
GROUPS_HEADER="${GROUPS_HEADER:-X-Forwarded-Groups}"
USER_AGENT="${USER_AGENT:-Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36}"

# check_user_agent: stops when USER_AGENT contains a word of ViewContext.automatedAgents (read from
# Sources/Portal/ViewContext.swift): the portal would answer those requests but count no views.
check_user_agent() {
    local file="$REPO/Sources/Portal/ViewContext.swift" words lower word
    words=$(sed -n '/static let automatedAgents/,/\]/p' "$file" 2>/dev/null | grep -o '"[^"]*"' | tr -d '"' || true)
    if [ -z "$words" ]; then
        say "note: no automatedAgents list found in $file; not checking USER_AGENT against it"
        return 0
    fi
    lower=$(printf '%s' "$USER_AGENT" | tr '[:upper:]' '[:lower:]')
    for word in $words; do
        case "$lower" in *"$word"*) die "USER_AGENT '$USER_AGENT' contains '$word': the portal would count none of its views (ViewContext.isAutomated)";; esac
    done
    say "User-Agent: $USER_AGENT (contains none of the $(echo "$words" | wc -w) automated-agent words of ViewContext.swift, so every view counts)"
}

# company_portal WORK: the demo warehouse at scale 1 (Benchmarks/.data/demo-scale1), every report
# generated into WORK (`almanac generate --all`, ~30 s), then `almanac serve` (release) on a free
# port with its own state store in WORK, behind a "trusted proxy" at 127.0.0.1: every request must
# name its reader in USER_HEADER/GROUPS_HEADER (no anonymous loopback; a request without them is
# refused with 401, checked here). No nightly schedule and no deliveries in this process, so the
# load is the only work. PORTAL_ARGS adds options (word-split), e.g. "--page-cache-mb 32".
# Waits until search has read every entity from the warehouse.
# Sets WAREHOUSE, STATE, ARTIFACTS, PORT, BASE, ALMANAC_PID; the portal's log is WORK/almanac.log.
# wait_search_index STATE: waits (up to 300 s) until the portal writing to STATE has read every
# entity of the demo catalog into its search index (the search pages need them). Sets entities.
wait_search_index() {
    local indexed=0
    entities=$(find "$REPO/Catalog/entities" -name '*.y*ml' | wc -l)
    for _ in $(seq 3000); do
        indexed=$("$SQLITE3" "$1" "SELECT count(DISTINCT target) FROM runs WHERE kind = 'index'" 2>/dev/null || echo 0)
        [ "${indexed:-0}" -ge "$entities" ] && return 0
        sleep 0.1
    done
    die "search read only $indexed of $entities entities from the warehouse in 300 s"
}

company_portal() {
    local work=$1 code entities
    demo_warehouse 1
    STATE="$work/state.sqlite"
    ARTIFACTS="$work/artifacts"
    say "almanac generate --all (as of $AS_OF) into $work"
    # A report that fails is reported; the scripts go on as long as the report they measure
    # (REPORT, growth-overview by default) was generated.
    local generated=0
    (cd "$REPO" && "$ALMANAC" generate --all --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$STATE" \
        --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" >"$work/generate.log" 2>&1) || generated=$?
    tail -1 "$work/generate.log" | cut -c1-200 | sed 's/^/  /'
    if [ "$generated" != 0 ]; then
        grep -v '^progress\|^✓' "$work/generate.log" | cut -c1-300 | sed 's/^/  not generated: /'
        [ -e "$ARTIFACTS/reports/${REPORT:-growth-overview}/LATEST" ] || die "${REPORT:-growth-overview} was not generated"
    fi
    PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    (cd "$REPO" && exec "$ALMANAC" serve --catalog "$REPO/Catalog" --warehouse "$WAREHOUSE" --state "$STATE" \
        --artifacts "$ARTIFACTS" --as-of "$AS_OF" --web "$REPO/Web" --port "$PORT" \
        --trusted-proxy 127.0.0.1 --user-header "$USER_HEADER" --groups-header "$GROUPS_HEADER" \
        --no-schedule --no-delivery --log-level "${LOG_LEVEL:-error}" ${PORTAL_ARGS:-}) >"$work/almanac.log" 2>&1 &
    ALMANAC_PID=$!
    wait_http "$BASE/healthz" 120
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")
    [ "$code" = 401 ] || die "GET / without identity headers answered $code, not 401: is the portal behind its trusted proxy?"
    wait_search_index "$STATE"
    say "almanac serve: pid $ALMANAC_PID on $BASE, trusted proxy 127.0.0.1 ($USER_HEADER, $GROUPS_HEADER);" \
        "search has read all $entities entities; RSS now $(awk '/^VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$ALMANAC_PID/status")"
}

# results_dir NAME: a folder kept after the run for the RSS CSV and wrk's outputs
# (DATA_DIR/results/NAME-TIMESTAMP; DATA_DIR defaults to Benchmarks/.data, git-ignored). Sets RESULTS.
results_dir() {
    RESULTS="${RESULTS_DIR:-${DATA_DIR:-$REPO/Benchmarks/.data}/results/$1-$(date +%Y%m%d-%H%M%S)}"
    mkdir -p "$RESULTS"
}
