#!/usr/bin/env bash
# A newcomer's first run, timed on a clean clone of this repository's HEAD (its committed
# state, no .build): `scripts/demo` from nothing until the demo's home page answers, then, in
# a second clean clone, `scripts/test` to its end. One after the other, so neither slows the
# other. The README's "first run" figures come from here.
#
# Environment: DEMO_PORT (default 18180), SKIP_TEST=1 (the demo only), TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

PORT="${DEMO_PORT:-18180}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-first-run.XXXXXX")"
demo_pid=""
cleanup() {
    if [ -n "$demo_pid" ]; then kill -TERM "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

commit=$(git -C "$REPO" rev-parse --short HEAD)
say "first run of $commit on $(nproc) cores, in $WORK"
[ -z "$(git -C "$REPO" status --porcelain --untracked-files=no)" ] || say "note: the working tree has uncommitted changes; the clones take HEAD only"

say "scripts/demo --port $PORT in a clean clone"
git clone -q "$REPO" "$WORK/demo"
started=$(date +%s.%N)
(cd "$WORK/demo" && exec scripts/demo --port "$PORT" >"$WORK/demo.log" 2>&1) &
demo_pid=$!
# Waits for the served page (the build, the warehouse and the start take minutes); only the
# demo ending stops the wait.
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; do
    kill -0 "$demo_pid" 2>/dev/null || { tail -20 "$WORK/demo.log"; die "scripts/demo ended before serving"; }
    sleep 1
done
served=$(date +%s.%N)
built=$(date -r "$WORK/demo/.build/debug/almanac" +%s.%N)
demo_seconds=$(python3 -c "print(round($served - $started, 1))")
build_seconds=$(python3 -c "print(round($built - $started, 1))")
say "scripts/demo: home page served after $demo_seconds s (the build ended at $build_seconds s)"
say "its output ended with:"
grep -v '^progress' "$WORK/demo.log" | tail -8
kill -TERM "$demo_pid"
wait "$demo_pid" 2>/dev/null || true
demo_pid=""
rm -rf "$WORK/demo"

if [ "${SKIP_TEST:-0}" != 1 ]; then
    say "scripts/test in a clean clone"
    git clone -q "$REPO" "$WORK/test"
    started=$(date +%s.%N)
    if (cd "$WORK/test" && CI=true scripts/test >"$WORK/test.log" 2>&1); then status=passed; else status=FAILED; fi
    ended=$(date +%s.%N)
    test_seconds=$(python3 -c "print(round($ended - $started, 1))")
    grep -E '^(✔|✘) Test run with|^== run' "$WORK/test.log" | tail -3
    say "scripts/test: $status after $test_seconds s"
fi

echo
echo "| first run ($commit, $(nproc) cores) | seconds |"
echo "|---|---|"
echo "| scripts/demo, clean clone to the home page served | $demo_seconds (build $build_seconds) |"
[ "${SKIP_TEST:-0}" = 1 ] || echo "| scripts/test, clean clone, $status | $test_seconds |"
