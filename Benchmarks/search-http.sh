#!/usr/bin/env bash
# Catalog search over HTTP: `almanac serve` (release) answering GET /api/search?q=QUERY&limit=10
# on loopback under wrk -t2 -c32 (--latency, --timeout 30s), side by side with Datasette's FTS5
# search on the same 100,000-entry corpus, same run, same wrk settings, as the shared HTTP
# baseline (/work/shared/bench/http/run.sh) measures it. wrk and the server share the 2 cores.
#
# Corpus: the search harness's catalog (100,000 entries, seed 42; see search-engines.sh), turned
# into an Almanac catalog folder by search_catalog.py (.data/search-catalog-n100000, checked with
# `almanac catalog check`) for Almanac, and into data/catalog.db (table entries + FTS5 index made
# by sqlite-utils) by the shared baseline's build_db.py for Datasette.
# Load: Almanac gets search-wrk.lua, which walks the harness's 400 queries (data/queries.txt, as
# typed, hostile ones included, percent-encoded), each thread from its own offset; Datasette gets
# the baseline's own lua/search.lua (GET /catalog/entries.json?_search=WORD&_size=10, WORD one of
# the 50 plain words of the same queries, at random), with and without facet suggestions
# (`--setting suggest_facets off`), as run.sh runs it.
# Each measurement: a WARMUP s run of the same wrk command, then DURATION s with --latency. The
# done() hook (wrk-report.lua, the baseline's lua/report.lua) prints the WRKJSON line the table
# is made from; server CPU is user+sys from /proc/PID/stat over the timed run, wrk's from wait4(),
# "others" = all busy CPU in /proc/stat minus both.
# Almanac is measured twice in each round: as it runs by default, keeping each answer per
# audience and query (`--search-cache-mb`, 32 MiB: after the warm-up the 400 rotating queries are
# all kept, so this measures answering from memory), and a second portal with
# `--search-cache-mb 0`, where every request runs its search (the engine's own figure). Binaries
# older than the cache (ALMANAC_BIN) get the first measurement only.
# Target: Almanac >= 3,000 requests/s with p99 <= 20 ms and no errors (100,000 entries, 32
# connections, wrk and the server sharing the 2 cores); the verdict is printed for both.
#
# The shared folders are read-only: the baseline's http/ folder is copied to .data/http-bench/http
# (with .data/http-bench/search -> the search harness copy, where its build_db.py looks), all
# git-ignored. Raw wrk output and the table: .data/search-http-<date>/.
#
# Run from anywhere (~3.5 min; first time +~40 s for the catalog, its conversion and catalog.db):
#   Benchmarks/search-http.sh
#   ROUNDS=3 Benchmarks/search-http.sh       # alternate the servers 3 times, medians at the end
#   DATASETTE_DEFAULTS=0 Benchmarks/search-http.sh   # only the facets-off Datasette run
# Environment: ROUNDS (1), DURATION (20), WARMUP (5), THREADS (2), CONNECTIONS (32), TIMEOUT (30s),
# LIMIT (10), DATASETTE_DEFAULTS (1: also the run with Datasette's defaults, round 1 only),
# UNCACHED (1: also the portal with --search-cache-mb 0; 0 skips it),
# REBUILD_DB=1 (rebuild catalog.db), REBUILD=1 (rebuild the release binary), ALMANAC_BIN (use this
# binary instead), DATE, DATA_DIR (Benchmarks/.data), SHARED_BENCH (../../shared/bench), TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

N=100000   # fixed: the baseline's build_db.py reads data/n100000
ROUNDS="${ROUNDS:-1}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-5}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
TIMEOUT="${TIMEOUT:-30s}"
LIMIT="${LIMIT:-10}"
DATASETTE_DEFAULTS="${DATASETTE_DEFAULTS:-1}"
DATE="${DATE:-$(date -u +%F)}"
DATA_DIR="${DATA_DIR:-$REPO/Benchmarks/.data}"
SHARED_BENCH="${SHARED_BENCH:-$REPO/../shared/bench}"
T0=$SECONDS

say "search over HTTP: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency --timeout $TIMEOUT after a ${WARMUP}s warm-up, $ROUNDS round(s), $N entries"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
ensure_http_tools
if [ -n "${ALMANAC_BIN:-}" ]; then ALMANAC="$ALMANAC_BIN"; say "almanac: $ALMANAC (ALMANAC_BIN)"; else ensure_almanac; fi
search_harness "$N"

# --- the corpus, twice: an Almanac catalog folder and Datasette's catalog.db --------------------
CATALOG="$DATA_DIR/search-catalog-n$N"
say "Almanac catalog: search_catalog.py --data $HARNESS/$SEARCH_DATA --out $CATALOG --check (almanac catalog check)"
if ! python3 "$HERE/search_catalog.py" --data "$HARNESS/$SEARCH_DATA" --out "$CATALOG" --check "$ALMANAC" 2>&1 \
    | sed 's/^/  /'; then
    die "the converted catalog does not pass almanac catalog check"
fi

[ -f "$SHARED_BENCH/http/build_db.py" ] || die "no HTTP baseline at $SHARED_BENCH/http"
HTTP_BENCH="$DATA_DIR/http-bench"
DS="$HTTP_BENCH/http"
mkdir -p "$DS/lua"
find "$SHARED_BENCH/http" -maxdepth 1 -type f -exec cp -f {} "$DS/" \;
cp -f "$SHARED_BENCH/http/lua/"*.lua "$DS/lua/"
chmod -R u+w "$DS"
ln -sfn "$HARNESS" "$HTTP_BENCH/search"   # build_db.py reads ../search/data/n100000/catalog.jsonl
say "Datasette baseline: $(cd "$SHARED_BENCH/http" && pwd) copied to $DS"
if ! python3 -c 'import datasette, sqlite_utils' 2>/dev/null || ! command -v datasette >/dev/null 2>&1; then
    say "installing the baseline's requirements (pip install -r requirements.txt: datasette, sqlite-utils)"
    (cd "$DS" && python3 -m pip install -q -r requirements.txt 2>&1 | grep -v "as the 'root' user" || true)
    command -v datasette >/dev/null 2>&1 || die "datasette did not install"
fi
if [ ! -f "$DS/data/catalog.db" ] || [ ! -f "$DS/data/words.txt" ] || [ "${REBUILD_DB:-0}" = 1 ] \
    || [ "$HARNESS/$SEARCH_DATA/catalog.jsonl" -nt "$DS/data/catalog.db" ]; then
    say "building $DS/data/catalog.db (build_db.py, ~10 s)"
    (cd "$DS" && python3 build_db.py) | sed 's/^/  /'
else
    say "reusing $DS/data/catalog.db ($(du -m "$DS/data/catalog.db" | cut -f1) MB; REBUILD_DB=1 rebuilds it)"
fi
say "versions: $(datasette --version), $(sqlite-utils --version), SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"

# --- servers ----------------------------------------------------------------------------------------
OUT="$DATA_DIR/search-http-$DATE"
rm -rf "$OUT" && mkdir -p "$OUT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-search-http.XXXXXX")"
ALMANAC_PID=""
DS_PID=""
cleanup() {
    stop_pid "$ALMANAC_PID"
    stop_pid "${UNCACHED_PID:-}"
    stop_pid "$DS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
log_cmd() { echo "$*" >> "$OUT/commands.txt"; }

# wait_ready URL PID LOG SECONDS: until URL answers 200; fail early if PID died.
wait_ready() {
    local url=$1 pid=$2 log=$3 tries=$(( $4 * 10 ))
    for _ in $(seq "$tries"); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then tail -20 "$log" >&2; die "the server exited before $url answered"; fi
        sleep 0.1
    done
    tail -20 "$log" >&2
    die "nothing answered 200 at $url within $4 s"
}

PORT=$(free_port)
log_cmd "(cd $REPO && $ALMANAC serve --catalog $CATALOG --state WORK/state.sqlite --web $REPO/Web --port $PORT --allow-anonymous-loopback --log-level error)"
start_ns=$(date +%s%N)
(cd "$REPO" && exec "$ALMANAC" serve --catalog "$CATALOG" --state "$WORK/state.sqlite" --web "$REPO/Web" \
    --port "$PORT" --allow-anonymous-loopback --log-level error) >"$WORK/almanac.log" 2>&1 &
ALMANAC_PID=$!
wait_ready "http://127.0.0.1:$PORT/readyz" "$ALMANAC_PID" "$WORK/almanac.log" 600
ready_s=$(python3 -c "print(f'{($(date +%s%N) - $start_ns) / 1e9:.1f}')")
rss_mb=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$ALMANAC_PID/status")
say "almanac serve: pid $ALMANAC_PID on 127.0.0.1:$PORT, /readyz 200 after $ready_s s (catalog load + search index), RSS $rss_mb MB"
UNCACHED_PID=""
if [ "${UNCACHED:-1}" = 1 ] && [[ "$("$ALMANAC" serve --help 2>/dev/null)" == *--search-cache-mb* ]]; then
    UNCACHED_PORT=$(free_port)
    log_cmd "(cd $REPO && $ALMANAC serve --catalog $CATALOG --state WORK/state-uncached.sqlite --web $REPO/Web --port $UNCACHED_PORT --allow-anonymous-loopback --log-level error --search-cache-mb 0)"
    (cd "$REPO" && exec "$ALMANAC" serve --catalog "$CATALOG" --state "$WORK/state-uncached.sqlite" --web "$REPO/Web" \
        --port "$UNCACHED_PORT" --allow-anonymous-loopback --log-level error --search-cache-mb 0) \
        >"$WORK/almanac-uncached.log" 2>&1 &
    UNCACHED_PID=$!
    wait_ready "http://127.0.0.1:$UNCACHED_PORT/readyz" "$UNCACHED_PID" "$WORK/almanac-uncached.log" 600
    say "almanac serve --search-cache-mb 0: pid $UNCACHED_PID on 127.0.0.1:$UNCACHED_PORT (every request searches)"
fi
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=$(cpu_of "$ALMANAC_PID"); sleep 5; c1=$(cpu_of "$ALMANAC_PID")
idle_pct=$(( (c1 - c0) * 100 / $(getconf CLK_TCK) / 5 ))
say "almanac serve idle (no requests) for 5 s: ${idle_pct}% of one core (the catalog watcher stats every file each 2 s)"

# Every query once, before any load: status, JSON, results; keeps one response to show its shape.
say "pre-check: every query of data/queries.txt once through /api/search"
python3 - "$PORT" "$HARNESS/data/queries.txt" "$LIMIT" "$OUT" <<'PY' | tee "$OUT/almanac-precheck-summary.txt" | sed 's/^/  /'
import json, sys, time, urllib.error, urllib.parse, urllib.request
port, qfile, limit, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
qs = [q for q in open(qfile, encoding="utf-8").read().split("\n") if q]
status, bad_json, counts, lines, sample, times = {}, 0, [], [], None, []
def n_results(d):
    if isinstance(d, list):
        return len(d)
    for k in ("results", "hits", "items", "entries", "data"):
        if isinstance(d.get(k), list):
            return len(d[k])
    return None
for q in qs:
    url = f"http://127.0.0.1:{port}/api/search?q={urllib.parse.quote(q, safe='')}&limit={limit}"
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    times.append((time.perf_counter() - t) * 1000)
    status[code] = status.get(code, 0) + 1
    try:
        d = json.loads(body)
        n = n_results(d)
        sample = sample or (d if n else None)
    except ValueError:
        bad_json += 1
        n = None
    counts.append(n)
    lines.append(f"{code}\t{n}\t{q}")
open(f"{out}/almanac-precheck.tsv", "w", encoding="utf-8").write("status\tresults\tquery\n" + "\n".join(lines) + "\n")
known = [c for c in counts if c is not None]
times.sort()
print(f"{len(qs)} queries: status {dict(sorted(status.items()))}, not JSON {bad_json}; "
      + (f"with results {sum(1 for c in known if c)}, zero results {sum(1 for c in known if not c)}" if known
         else "result count not found (no list under results/hits/items)")
      + f"; one client, sequential: p50 {times[len(times) // 2]:.2f} ms, max {times[-1]:.2f} ms")
if sample is not None:
    print("a response: " + json.dumps(sample, ensure_ascii=False)[:400])
PY

# --- measurements ---------------------------------------------------------------------------------
# measure NAME ROUND PID DIR URL LUA: warm-up + timed wrk from DIR; appends one JSON line to results.
measure() {
    local name=$1 round=$2 pid=$3 dir=$4 url=$5 lua=$6
    local warm=(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout "$TIMEOUT" -s "$lua" "$url")
    local timed=(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout "$TIMEOUT" --latency -s "$lua" "$url")
    log_cmd "(cd $dir && ${warm[*]})"
    log_cmd "(cd $dir && ${timed[*]})"
    say "$name, round $round: warm-up ${WARMUP}s, then ${DURATION}s timed"
    (cd "$dir" && SEARCH_QUERIES="$HARNESS/data/queries.txt" SEARCH_LIMIT="$LIMIT" WRK_THREADS="$THREADS" \
        "${warm[@]}" > "$OUT/$name-r$round.warmup.txt")
    (cd "$dir" && SEARCH_QUERIES="$HARNESS/data/queries.txt" SEARCH_LIMIT="$LIMIT" WRK_THREADS="$THREADS" \
        python3 - "$name" "$round" "$pid" "$OUT/$name-r$round.txt" "${timed[@]}") <<'PY' >> "$OUT/results.jsonl"
import json, os, sys
name, rnd, pid, out, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
tck = os.sysconf("SC_CLK_TCK")
def proc_cpu(p):
    f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck          # utime + stime
def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / tck              # all but idle and iowait
s0, b0 = proc_cpu(pid), busy()
with open(out, "w") as f:
    child = os.fork()
    if child == 0:
        os.dup2(f.fileno(), 1)
        os.execvp(cmd[0], cmd)
    _, status, ru = os.wait4(child, 0)
s1, b1 = proc_cpu(pid), busy()
text = open(out).read()
sys.stderr.write("".join(l + "\n" for l in text.splitlines() if not l.startswith("WRKJSON")))
w = json.loads([l for l in text.splitlines() if l.startswith("WRKJSON ")][-1][8:])
wrk_cpu = ru.ru_utime + ru.ru_stime
w.update(name=name, round=rnd, server_cpu_s=s1 - s0, wrk_cpu_s=wrk_cpu,
         others_cpu_s=max(0.0, (b1 - b0) - (s1 - s0) - wrk_cpu), exit=status)
print(json.dumps(w))
PY
}

# start_datasette NAME [OPTIONS...]: the baseline's command, from its folder; sets DS_PID, DS_URL.
start_datasette() {
    local name=$1; shift
    local port
    port=$(free_port)
    log_cmd "(cd $DS && datasette serve data/catalog.db -m metadata.json -h 127.0.0.1 -p $port $*)"
    (cd "$DS" && exec datasette serve data/catalog.db -m metadata.json -h 127.0.0.1 -p "$port" "$@") \
        > "$WORK/datasette-$name.log" 2>&1 &
    DS_PID=$!
    DS_URL="http://127.0.0.1:$port"
    wait_ready "$DS_URL/catalog/entries.json?_search=revenue&_size=10" "$DS_PID" "$WORK/datasette-$name.log" 120
    local bad=0 w
    while read -r w; do
        [ -n "$w" ] || continue
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$DS_URL/catalog/entries.json?_search=$w&_size=10")" = 200 ] || bad=$((bad + 1))
    done < "$DS/data/words.txt"
    say "datasette ($name): pid $DS_PID at $DS_URL; pre-check of the $(grep -c . "$DS/data/words.txt") words: $bad non-200"
}

echo
for round in $(seq "$ROUNDS"); do
    measure almanac "$round" "$ALMANAC_PID" "$HARNESS" "http://127.0.0.1:$PORT" "$HERE/search-wrk.lua"
    if [ -n "$UNCACHED_PID" ]; then
        measure almanac-uncached "$round" "$UNCACHED_PID" "$HARNESS" "http://127.0.0.1:$UNCACHED_PORT" \
            "$HERE/search-wrk.lua"
    fi
    start_datasette nofacets --setting suggest_facets off
    measure datasette-nofacets "$round" "$DS_PID" "$DS" "$DS_URL" lua/search.lua
    stop_pid "$DS_PID"; DS_PID=""
    if [ "$round" = 1 ] && [ "$DATASETTE_DEFAULTS" = 1 ]; then
        start_datasette defaults
        measure datasette-defaults "$round" "$DS_PID" "$DS" "$DS_URL" lua/search.lua
        stop_pid "$DS_PID"; DS_PID=""
    fi
done
errors=$(grep -ci 'error' "$WORK/almanac.log" || true)
[ "$errors" = 0 ] || say "note: almanac's log has $errors lines mentioning 'error' ($WORK/almanac.log, first: $(grep -i -m1 error "$WORK/almanac.log" | cut -c1-160))"
stop_pid "$ALMANAC_PID"; ALMANAC_PID=""
stop_pid "$UNCACHED_PID"; UNCACHED_PID=""

# --- table ------------------------------------------------------------------------------------------
echo
python3 - "$OUT/results.jsonl" "$THREADS" "$CONNECTIONS" "$DURATION" "$TIMEOUT" "$ready_s" "$rss_mb" <<'PY' | tee "$OUT/results.md"
import json, statistics, sys
path, threads, conns, dur, timeout, ready_s, rss_mb = sys.argv[1:8]
rs = [json.loads(l) for l in open(path)]
label = {"almanac": "almanac serve `/api/search?q=QUERY&limit=10` (400 harness queries, rotating)",
         "almanac-uncached": "the same, `--search-cache-mb 0` (every request searches)",
         "datasette-nofacets": "datasette `--setting suggest_facets off` (`_search=WORD&_size=10`, 50 words)",
         "datasette-defaults": "datasette, defaults (same requests)"}
cpus = 2
print(f"Search over HTTP, 100,000 catalog entries, `wrk -t{threads} -c{conns} -d{dur}s --latency --timeout {timeout}` "
      f"after a warm-up run, on 127.0.0.1; wrk and the server share the machine's {cpus} cores "
      f"({int(dur) * cpus} CPU s per timed run)")
print()
hdr = ["server", "round", "requests/s", "p50 ms", "p99 ms", "max ms", "requests", "errors (non-2xx/3xx; socket)",
       "server CPU s", "wrk CPU s", "others' CPU s"]
rows = []
def row(name, rnd, r, sock):
    ms = lambda us: f"{us / 1000:.2f}" if r["requests"] else "–"
    return [label.get(name, name), rnd, f"{r['rps']:,.1f}" if r["rps"] < 100 else f"{r['rps']:,.0f}",
            ms(r["p50_us"]), ms(r["p99_us"]), ms(r["max_us"]), f"{r['requests']:,}", f"{r['err_status']}; {sock}",
            f"{r['server_cpu_s']:.1f}", f"{r['wrk_cpu_s']:.1f}", f"{r['others_cpu_s']:.1f}"]
sockets = lambda r: r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"]
for r in rs:
    rows.append(row(r["name"], r["round"], r, sockets(r)))
names = list(dict.fromkeys(r["name"] for r in rs))
med = {}
for n in names:
    mine = [r for r in rs if r["name"] == n]
    m = {k: statistics.median(r[k] for r in mine) for k in ("rps", "p50_us", "p99_us", "max_us", "requests",
                                                              "server_cpu_s", "wrk_cpu_s", "others_cpu_s")}
    m["err_status"] = sum(r["err_status"] for r in mine)
    m["sockets"] = sum(sockets(r) for r in mine)
    m["requests"] = int(m["requests"])
    med[n] = m
    if len(mine) > 1:
        rows.append(row(n, "median", m, m["sockets"]) )
w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
line = lambda cells: "| " + " | ".join(str(c).ljust(k) for c, k in zip(cells, w)) + " |"
print(line(hdr)); print("|" + "|".join("-" * (k + 2) for k in w) + "|")
for r in rows: print(line(r))
print()
a = med.get("almanac")
if a:
    print(f"almanac serve: /readyz after {ready_s} s (loading the 96,002-file catalog and building the index), "
          f"RSS {rss_mb} MB then; anonymous loopback requests are a local admin (sees every object).")
    for n in names:
        if not n.startswith("almanac"):
            if med[n]["requests"] == 0:
                print(f"almanac vs {n}: {n} completed no request in the timed run")
                continue
            print(f"almanac vs {n}: {a['rps'] / med[n]['rps']:.1f}x the requests/s, p99 {a['p99_us'] / 1000:.2f} ms "
                  f"vs {med[n]['p99_us'] / 1000:.2f} ms")
    for n, how in (("almanac", "as it runs (answers kept per audience and query)"),
                   ("almanac-uncached", "every request searching (--search-cache-mb 0)")):
        if n not in med:
            continue
        a = med[n]
        errs = a["err_status"] + a["sockets"]
        ok = a["rps"] >= 3000 and a["p99_us"] <= 20000 and errs == 0
        print(f"Target, {how}: >= 3,000 requests/s with p99 <= 20 ms and no errors, 32 connections, "
              f"100,000 entries: {'MET' if ok else 'NOT MET'} ({a['rps']:,.0f} req/s, p99 {a['p99_us'] / 1000:.2f} ms, "
              f"errors {errs}{', median of rounds' if sum(1 for r in rs if r['name'] == n) > 1 else ''})")
print("Datasette answers a different request (one plain word, its own FTS5 match, plus a count of all matches and,"
      " with defaults, facet suggestions); it is the baseline of /work/shared/bench/http, measured here in the same run.")
PY
echo
say "done in $((SECONDS - T0)) s; raw wrk output, commands and the table: $OUT/"
