#!/usr/bin/env bash
# Catalog search, in-process: Almanac's search index (`almanac-bench bench-search`, release) side by side
# with the peer engines of the shared search harness (SQLite FTS5, tantivy, a linear scan; whoosh
# on request), same catalog, same queries, same machine, same run. Then the index build with
# entity values (`almanac-bench bench-search-build`).
#
# Measures, per engine, over the harness's catalog of N entries (default 100,000, seed 42) and its
# 400 queries (seed 7): build s, p50/p95/p99 latency of one query (sanitise + search + top-10 ids,
# one thread, in-process) over REPEATS timed passes after 1 warm-up pass, safe-path and raw-path
# errors, hit rate per query category (single, phrase, prefix, typo, synonym, hostile).
# Baselines: the harness's runners (run_sqlite_fts5.py, run_tantivy.py, run_linear.py,
# run_whoosh.py), each in its own Python process, run by this script in the same run.
# Targets (N = 100,000): p99 <= 2 ms, p50 <= 0.3 ms, typo hit rate >= 90%, phrase / prefix /
# synonym hit rates no lower than the best peer's, 0 errors; index build of 100,000 entries +
# 1,000,000 entity values <= 10 s (peak memory reported).
#
# The harness (SHARED_BENCH/search, default ../../shared/bench/search from this folder) is
# read-only: it is copied to .data/search-harness/ (git-ignored) and run there. Its report.py
# tables, with an `almanac` row, are written to .data/search-harness/results/<date>-<N>.md and
# copied to .data/search-engines-<date>-<N>.md; the ratios and the build figures follow.
#
# Run from anywhere:
#   Benchmarks/search-engines.sh               # N=100000, ~4 min (+15 s the first time: catalog)
#   N=10000 Benchmarks/search-engines.sh       # quick (~1 min; whoosh runs at N <= 10000)
#   WHOOSH=1 Benchmarks/search-engines.sh      # include whoosh at 100k (+~5 min)
#   SKIP_ALMANAC=1 Benchmarks/search-engines.sh   # peers only (no Swift binary needed)
# Environment: N (100000), SEED (42), QSEED (7), NQ (400), REPEATS (5), MAXSEC (30: no further
# timed pass after this many seconds of them), WARMUP (1), ENGINES ("sqlite_fts5 tantivy whoosh
# linear"), WHOOSH (auto: only when N <= 10000; 1 always; 0 never), ENTITY_VALUES (1000000),
# BUILD_RUNS (3), DATE (today, UTC), DATA_DIR (Benchmarks/.data), SHARED_BENCH, REBUILD=1
# (rebuild the release binary), ALMANAC_BENCH_BIN (use this almanac-bench binary instead of the release build),
# SKIP_ALMANAC=1, SKIP_BUILD_BENCH=1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

N="${N:-100000}"
REPEATS="${REPEATS:-5}"
MAXSEC="${MAXSEC:-30}"
WARMUP="${WARMUP:-1}"
ENGINES="${ENGINES:-sqlite_fts5 tantivy whoosh linear}"
WHOOSH="${WHOOSH:-auto}"
ENTITY_VALUES="${ENTITY_VALUES:-1000000}"
BUILD_RUNS="${BUILD_RUNS:-3}"
DATE="${DATE:-$(date -u +%F)}"
DATA_DIR="${DATA_DIR:-$REPO/Benchmarks/.data}"
SKIP_ALMANAC="${SKIP_ALMANAC:-0}"
T0=$SECONDS

say "search engines benchmark: N=$N entries, ${NQ:-400} queries, $REPEATS timed passes (at most ${MAXSEC}s of them), ${WARMUP} warm-up"
machine_summary
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
if [ "$SKIP_ALMANAC" != 1 ]; then
    # ALMANAC_BIN (the name before the benchmarks had their own binary) still works for a build
    # whose almanac has the bench commands.
    ALMANAC_BENCH_BIN="${ALMANAC_BENCH_BIN:-${ALMANAC_BIN:-}}"
    if [ -n "${ALMANAC_BENCH_BIN:-}" ]; then
        ALMANAC_BENCH="$ALMANAC_BENCH_BIN"; say "almanac-bench: $ALMANAC_BENCH (ALMANAC_BENCH_BIN)"
    else
        ensure_almanac
    fi
    "$ALMANAC_BENCH" bench-search --help >/dev/null 2>&1 \
        || die "$ALMANAC_BENCH has no 'bench-search' command (REBUILD=1 rebuilds it; SKIP_ALMANAC=1 runs the peers only)"
fi
search_harness "$N"

RAW="results/raw/$DATE-$N"   # relative to HARNESS, as the harness writes it
mkdir -p "$HARNESS/$RAW"
# Everything in the tables comes from this run: drop what an earlier run of the same day left.
for e in sqlite_fts5 tantivy whoosh linear almanac; do rm -f "$HARNESS/$RAW/$e.json"; done

echo
for e in $ENGINES; do
    if [ "$e" = whoosh ]; then
        if [ "$WHOOSH" = 0 ] || { [ "$WHOOSH" = auto ] && [ "$N" -gt 10000 ]; }; then
            say "whoosh: skipped at N=$N (pure Python, ~5 min at 100k); WHOOSH=1 runs it"
            continue
        fi
    fi
    start=$SECONDS
    say "peer $e: python3 run_$e.py --data $SEARCH_DATA --queries data/queries.txt --out $RAW/$e.json --repeats $REPEATS --max-seconds $MAXSEC --warmup $WARMUP"
    (cd "$HARNESS" && python3 "run_$e.py" --data "$SEARCH_DATA" --queries data/queries.txt --out "$RAW/$e.json" \
        --repeats "$REPEATS" --max-seconds "$MAXSEC" --warmup "$WARMUP")
    say "peer $e: $((SECONDS - start)) s wall"
done

if [ "$SKIP_ALMANAC" != 1 ]; then
    start=$SECONDS
    say "almanac: almanac-bench bench-search --data $SEARCH_DATA --queries data/queries.txt --out $RAW/almanac.json --repeats $REPEATS --max-seconds $MAXSEC --warmup $WARMUP"
    (cd "$HARNESS" && "$ALMANAC_BENCH" bench-search --data "$SEARCH_DATA" --queries data/queries.txt --out "$RAW/almanac.json" \
        --repeats "$REPEATS" --max-seconds "$MAXSEC" --warmup "$WARMUP")
    say "almanac: $((SECONDS - start)) s wall"
    [ -f "$HARNESS/$RAW/almanac.json" ] || die "almanac bench-search wrote no $RAW/almanac.json"
    # The harness's JSON format (its README, "Adding the Swift portal server"), and the same inputs.
    python3 - "$HARNESS/$RAW" <<'PY'
import glob, json, os, sys
raw = sys.argv[1]
a = json.load(open(os.path.join(raw, "almanac.json")))
need = ["engine", "engine_version", "config", "entries", "catalog_sha256", "n_queries", "queries_file",
        "queries_sha256", "timed_passes", "samples", "build_s", "index_bytes", "peak_rss_mb", "latency_ms",
        "qps", "safe_errors", "zero_hit_queries", "by_category", "raw", "topk", "sample_results", "env"]
missing = [k for k in need if k not in a]
missing += [f"latency_ms.{k}" for k in ("p50", "p95", "p99", "mean", "max") if k not in (a.get("latency_ms") or {})]
missing += [f"raw.{k}" for k in ("errors", "zero_hits", "p50_ms", "error_examples") if k not in (a.get("raw") or {})]
for c, v in (a.get("by_category") or {}).items():
    missing += [f"by_category.{c}.{k}" for k in ("n", "hit_rate", "p50_ms", "p95_ms", "safe_errors", "raw_errors",
                                                  "raw_zero_hits") if k not in v]
missing += [f"env.{k}" for k in ("python", "platform", "cpus", "cpu_model") if k not in (a.get("env") or {})]
if missing:
    print("  almanac.json lacks fields the harness's report.py and README expect: " + ", ".join(missing))
peers = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "*.json"))) if not p.endswith("almanac.json")]
for p in peers[:1]:
    for k in ("entries", "catalog_sha256", "queries_sha256", "n_queries"):
        if a.get(k) != p.get(k):
            print(f"  MISMATCH: almanac.json {k} = {a.get(k)!r}, {p['engine']} has {p.get(k)!r}: not the same inputs")
    if len(a.get("topk") or []) != p["n_queries"]:
        print(f"  MISMATCH: almanac.json has {len(a.get('topk') or [])} topk lists for {p['n_queries']} queries")
if not missing:
    print("  almanac.json: every field of the harness format is there; inputs match the peers' (entries, sha256s)")
PY
fi

echo
(cd "$HARNESS" && python3 report.py --raw "$RAW" --out "results/$DATE-$N.md")
cp "$HARNESS/results/$DATE-$N.md" "$DATA_DIR/search-engines-$DATE-$N.md"
cp "$HARNESS/results/$DATE-$N-top10.md" "$DATA_DIR/search-engines-$DATE-$N-top10.md"
say "tables: $DATA_DIR/search-engines-$DATE-$N.md (top-10 of the sample queries: search-engines-$DATE-$N-top10.md)"
echo
cat "$DATA_DIR/search-engines-$DATE-$N.md"
echo

SUMMARY="$DATA_DIR/search-engines-$DATE-$N-summary.txt"
: > "$SUMMARY"
if [ "$SKIP_ALMANAC" != 1 ]; then
    python3 - "$HARNESS/$RAW" "$N" <<'PY' | tee -a "$SUMMARY"
import glob, json, os, sys
raw, n = sys.argv[1], int(sys.argv[2])
runs = {os.path.basename(p)[:-5]: json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "*.json")))}
a = runs.pop("almanac")
peers = list(runs.values())
CATS = ["single", "phrase", "prefix", "typo", "synonym", "hostile"]
lat = lambda r, k: r["latency_ms"][k]
hit = lambda r, c: r["by_category"].get(c, {}).get("hit_rate")

def table(headers, rows):
    w = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(k) for c, k in zip(cells, w)) + " |"
    print(line(headers)); print("|" + "|".join("-" * (k + 2) for k in w) + "|")
    for r in rows: print(line(r))

print(f"Almanac vs each peer, same run, N={n:,}: latency ratio = Almanac / peer (below 1 = Almanac faster);"
      " hit rates in points, Almanac minus peer")
rows = []
for p in peers:
    row = [p["engine"], f"{lat(a, 'p50'):.3f} / {lat(p, 'p50'):.3f}", f"{lat(a, 'p50') / lat(p, 'p50'):.2f}x",
           f"{lat(a, 'p99'):.3f} / {lat(p, 'p99'):.3f}", f"{lat(a, 'p99') / lat(p, 'p99'):.2f}x"]
    for c in CATS:
        ha, hp = hit(a, c), hit(p, c)
        row.append("–" if ha is None or hp is None else f"{ha * 100:.0f}% vs {hp * 100:.0f}% ({(ha - hp) * 100:+.0f})")
    rows.append(row)
table(["peer", "p50 ms A / peer", "p50 ratio", "p99 ms A / peer", "p99 ratio"] + [f"{c} hit" for c in CATS], rows)
print()
best = {c: max((hit(p, c) or 0) for p in peers) if peers else None for c in ("phrase", "prefix", "synonym")}
errors = a["safe_errors"] + a["raw"]["errors"]
checks = [
    ("p99 <= 2 ms", lat(a, "p99") <= 2.0, f"{lat(a, 'p99'):.3f} ms"),
    ("p50 <= 0.3 ms", lat(a, "p50") <= 0.3, f"{lat(a, 'p50'):.3f} ms"),
    ("typo hit rate >= 90%", (hit(a, "typo") or 0) >= 0.90, f"{(hit(a, 'typo') or 0) * 100:.1f}%"),
]
for c, b in best.items():
    if b is not None:
        who = ", ".join(p["engine"] for p in peers if (hit(p, c) or 0) == b)
        checks.append((f"{c} hit rate >= best peer's ({b * 100:.1f}%, {who})", (hit(a, c) or 0) >= b,
                       f"{(hit(a, c) or 0) * 100:.1f}%"))
checks.append(("0 errors (safe path + raw path)", errors == 0,
               f"safe {a['safe_errors']}, raw {a['raw']['errors']}"))
print(f"Targets (set for N=100,000{'' if n == 100000 else f'; this run has N={n:,}, so only indicative'};"
      f" peers in this run: {', '.join(p['engine'] for p in peers) or 'none'}):")
for name, ok, got in checks:
    print(f"  {'MET    ' if ok else 'NOT MET'}  {name}: {got}")
print(f"  Almanac: {a['timed_passes']} timed passes, {a['samples']} timed queries, QPS {a['qps']} (one thread), "
      f"zero-hit queries {a['zero_hit_queries']} of {a['n_queries']}; engine {a['engine']} {a['engine_version']}")
PY
fi

if [ "$SKIP_ALMANAC" != 1 ] && [ "${SKIP_BUILD_BENCH:-0}" != 1 ]; then
    echo
    say "index build: almanac-bench bench-search-build --data $SEARCH_DATA --entity-values $ENTITY_VALUES, $BUILD_RUNS runs"
    (cd "$HARNESS" && python3 - "$ALMANAC_BENCH" "$SEARCH_DATA" "$ENTITY_VALUES" "$BUILD_RUNS" "$RAW" "$N") <<'PY' | tee -a "$SUMMARY"
import glob, json, os, resource, statistics, subprocess, sys, time
almanac, data, values, runs, raw, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
results = []
for i in range(runs):
    t0 = time.perf_counter()
    p = subprocess.Popen([almanac, "bench-search-build", "--data", data, "--entity-values", str(values)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench-search-build exited {p.returncode}: {err.strip()[-500:]}")
    line = [l for l in out.splitlines() if l.strip().startswith("{")][-1]
    r = json.loads(line)
    r["wall_s"] = wall
    results.append(r)
    print(f"  run {i + 1}: " + json.dumps({k: r.get(k) for k in ("entries", "entity_values", "build_s", "peak_rss_mb",
                                                                  "rss_before_build_mb", "terms")}) + f", process wall {wall:.2f} s")
b = [r["build_s"] for r in results]
peak = max(r["peak_rss_mb"] for r in results)
kernel_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # largest child's max RSS
print(f"  kernel's max RSS of the largest run (getrusage RUSAGE_CHILDREN): {kernel_peak:.0f} MB; "
      f"self-reported peak_rss_mb, max of runs: {peak:.0f} MB")
r0 = results[0]
print()
print(f"Index build, N={n:,} catalog entries (median of {runs} runs; peers: their one build in this run's search benchmark):")
rows = [["almanac bench-search-build", f"{r0['entries']:,} + {r0['entity_values']:,} entity values",
         f"{statistics.median(b):.3f} ({min(b):.3f}-{max(b):.3f})",
         f"{peak:.0f} (before build {r0.get('rss_before_build_mb', 0):.0f})", f"{r0.get('terms', 0):,} terms"]]
for p in sorted(glob.glob(os.path.join(raw, "*.json"))):
    j = json.load(open(p))
    what = f"{j['entries']:,}" + (" (bench-search, no entity values)" if j["engine"].startswith("almanac") else "")
    rows.append([j["engine"], what, f"{j['build_s']:.3f}", f"{j['peak_rss_mb']:.0f} (whole run)",
                 f"index {j['index_bytes'] / 2**20:.1f} MB"])
w = [max(len(str(x)) for x in col) for col in zip(["engine", "entries indexed", "build s", "peak RSS MB", "size"], *rows)]
line = lambda cells: "| " + " | ".join(str(c).ljust(k) for c, k in zip(cells, w)) + " |"
print(line(["engine", "entries indexed", "build s", "peak RSS MB", "size"])); print("|" + "|".join("-" * (k + 2) for k in w) + "|")
for row in rows: print(line(row))
print("(peers' build s: index build incl. commit/optimize of the entries alone, on disk; their peak RSS covers the whole"
      " Python process, queries included)")
ok = statistics.median(b) <= 10.0
target_n = n == 100000 and values == 1000000
print(f"Target: {100000:,} entries + 1,000,000 entity values built in <= 10 s: "
      f"{'MET' if ok else 'NOT MET'} ({statistics.median(b):.3f} s median, peak RSS {peak:.0f} MB)"
      + ("" if target_n else f" [this run: N={n:,}, {values:,} entity values: indicative only]"))
PY
fi

echo
say "done in $((SECONDS - T0)) s; raw JSON: $HARNESS/$RAW/; tables: $DATA_DIR/search-engines-$DATE-$N.md; summary: $SUMMARY"
