#!/usr/bin/env bash
# Times `almanac demo --no-serve --force` (release) at the default scale (>= 2,000,000 events),
# side by side with the sqlite3 CLI copying the very same rows into a fresh file (same indexes,
# same pragmas, ANALYZE as the generator does): the floor for writing those rows with SQLite.
#
# Environment: RUNS (default 3), SCALE (default 1), REBUILD=1, PYTHON, SQLITE3, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

RUNS="${RUNS:-3}"
SCALE="${SCALE:-1}"

say "demo-generator benchmark: scale $SCALE, $RUNS timed runs per tool"
machine_summary
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3
ensure_sqlite3
ensure_almanac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-demo-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say "working in $WORK ($(df -h "$WORK" | awk 'NR==2 {print $4}') free)"

"$PYTHON" "$HERE/bench_helper.py" demo-bench --repo "$REPO" --workdir "$WORK" --almanac "$ALMANAC" \
    --sqlite3 "$SQLITE3" --runs "$RUNS" --scale "$SCALE" --target 20

say "removed $WORK"
