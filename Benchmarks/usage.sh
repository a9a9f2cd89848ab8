#!/usr/bin/env bash
# Usage tracking in-process (`almanac-bench bench-usage`, release):
#  1. The view recorder (the state store's recordViews: raw log + daily rollups, one transaction per
#     batch) on the first MEASURE views of the history, in batches of BATCH, into a fresh SQLite
#     file, against the baseline of the same rows inserted into the raw view log alone (the table
#     and indexes as before the rollups), batches alternating. Target: >= 100,000 views/s.
#  2. The retirement policy's staleness scan (RetirementReviewer.report(): per-report figures for
#     the policy window, 30 and 90 days, the catalog's first-seen dates, the lifecycle log and the
#     candidate rule) over ITEMS generated reports and VIEWS view rows, SCANS timed runs after one
#     warm-up, against the same per-report figures counted from the raw log (BASELINE_SCANS runs).
#     Target: <= 200 ms for the whole scan over 10,000 items and 50,000,000 rows.
#
# The history is deterministic (Zipf-like popularity over items and viewers, 8% of the items
# abandoned after their first month, times spread evenly over DAYS days ending now) and is written
# through the recorder itself into DATA_DIR/usage-<ITEMS>-<VIEWS>/state.sqlite (git-ignored), which
# later runs reuse while it holds VIEWS rows (REBUILD_HISTORY=1 writes it again). 50M rows take
# about 8 GB of disk and several minutes to write.
#
# Environment: ITEMS (10000), VIEWS (50000000), DAYS (180), BATCH (10000), MEASURE (2000000),
# SCANS (10), BASELINE_SCANS (3), DATA_DIR, REBUILD=1 (the binary), REBUILD_HISTORY=1, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

ITEMS="${ITEMS:-10000}"
VIEWS="${VIEWS:-50000000}"
DAYS="${DAYS:-180}"
BATCH="${BATCH:-10000}"
MEASURE="${MEASURE:-2000000}"
SCANS="${SCANS:-10}"
BASELINE_SCANS="${BASELINE_SCANS:-3}"

say "usage benchmark: $ITEMS reports, $VIEWS view rows over $DAYS days; recorder timed on $MEASURE views in batches of $BATCH"
machine_summary
ensure_almanac
DIR="${DATA_DIR:-$REPO/Benchmarks/.data}/usage-$ITEMS-$VIEWS"
mkdir -p "$DIR"
if [ "${REBUILD_HISTORY:-0}" = 1 ]; then rm -f "$DIR"/state.sqlite*; fi
say "data: $DIR ($(df -h "$DIR" | awk 'NR==2 {print $4}') free)"

(cd "$REPO" && "$ALMANAC_BENCH" bench-usage --dir "$DIR" --catalog "$REPO/Catalog" --items "$ITEMS" --views "$VIEWS" \
    --days "$DAYS" --batch "$BATCH" --measure "$MEASURE" --scans "$SCANS" --baseline-scans "$BASELINE_SCANS") \
    | tee "$DIR/last-run.txt"

recorder=$(sed -n 's/^recorder: .* = \([0-9]*\) views\/s (raw.*/\1/p' "$DIR/last-run.txt")
scan=$(sed -n 's/^scan_p50_ms=\([0-9.]*\) .*/\1/p' "$DIR/last-run.txt")
scan_max=$(sed -n 's/^scan_p50_ms=[0-9.]* scan_max_ms=\([0-9.]*\)/\1/p' "$DIR/last-run.txt")
echo
if [ "${recorder:-0}" -ge 100000 ]; then verdict=MET; else verdict="NOT MET"; fi
say "Target: recorder >= 100,000 views/s into SQLite: $verdict ($recorder views/s)"
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 200 else 1)' "${scan_max:-9999}"; then verdict=MET; else verdict="NOT MET"; fi
say "Target: staleness scan <= 200 ms ($ITEMS items, $VIEWS rows): $verdict (p50 $scan ms, slowest of $SCANS $scan_max ms)"
