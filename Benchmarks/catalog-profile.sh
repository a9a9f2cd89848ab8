#!/usr/bin/env bash
# Where does `almanac catalog check` spend its time? Two measurements on the generated catalog
# of catalog-load.sh (FILES files, default 10000):
#  1. `perf record` of the release binary (skipped when perf is not installed; PERF=0 skips it),
#     printed as inclusive ("children") shares of the hottest functions, demangled.
#  2. YamsLookup (Benchmarks/YamsLookup): Yams.compose + one `mapping[key]` lookup per key, single
#     thread, with the resolver/encoding Almanac uses today and with the two cheaper choices.
#
# Environment: FILES (default 10000), RUNS (default 5), PERF=0, REBUILD=1, PYTHON, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

FILES="${FILES:-10000}"
RUNS="${RUNS:-5}"

say "catalog-profile: $FILES files"
machine_summary
ensure_pyyaml
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-catalog-profile.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/catalog"
say "generating the catalog into $DATA"
"$PYTHON" "$HERE/bench_helper.py" make-catalog "$REPO/Catalog" "$DATA" --files "$FILES" | head -1
"$ALMANAC" catalog check "$DATA" | tail -1

if [ "${PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1; then
    say "perf record -g of 'almanac catalog check' (one run)"
    perf record -q -g -F 999 -o "$WORK/perf.data" "$ALMANAC" catalog check "$DATA" >/dev/null 2>"$WORK/perf.log" \
        || { cat "$WORK/perf.log"; die "perf record failed"; }
    echo
    echo "Inclusive share of all samples (both cores), hottest functions ('children' = itself + callees):"
    perf report -i "$WORK/perf.data" --children --sort symbol -g none --percent-limit 3 --stdio 2>/dev/null \
        | grep '%' | sed -E 's/[[:space:]]+$//' | { swift demangle --simplified 2>/dev/null || cat; } \
        | cut -c1-140 | head -60
    echo
else
    say "perf is not installed (or PERF=0): skipping the profile"
fi

say "building Benchmarks/YamsLookup (release) into Benchmarks/.build-yams"
(cd "$HERE/YamsLookup" && swift build -c release --scratch-path "$HERE/.build-yams" 2>&1 | tail -1)
LOOKUP="$HERE/.build-yams/release/yams-lookup"

say "timing YamsLookup: $RUNS interleaved runs per mode, one thread, parse + key lookups only"
"$PYTHON" - "$LOOKUP" "$DATA" "$RUNS" <<'PY'
import statistics, subprocess, sys
lookup, data, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
modes = {
    "default": "compose(yaml:) — Resolver.default, Encoding.default (what Almanac calls today)",
    "default-utf8": "compose(yaml:, .default, .default, .utf8) — no per-call environment read",
    "basic-utf8": "compose(yaml:, .basic, .default, .utf8) — no regex tag resolution",
}
times = {m: [] for m in modes}
for m in modes:  # warm-up
    subprocess.run([lookup, data, m], check=True, capture_output=True)
for run in range(runs):
    for m in modes:
        out = subprocess.run([lookup, data, m], check=True, capture_output=True, text=True).stdout.split()
        files, lookups, seconds = int(out[1]), int(out[2]), float(out[3])
        times[m].append(seconds)
base = statistics.median(times["default"])
print(f"\nYams parse + {lookups:,} key lookups over {files} files, one thread, {runs} runs each (seconds)")
print("| Yams call | runs | median s | min s | max s | time vs today |")
print("|---|---|---|---|---|---|")
for m, label in modes.items():
    med = statistics.median(times[m])
    print(f"| {label} | {runs} | {med:.3f} | {min(times[m]):.3f} | {max(times[m]):.3f} | {med / base:.2f}x |")
PY
say "removed $WORK"
