#!/usr/bin/env bash
# View ingest into the state store, in process: `almanac-bench bench-state-ingest` records the same
# views in the same batches (what one portal's second of views flushes, with the daily rollups)
# into a fresh SQLite state file and into a PostgreSQL state database, rounds alternating, then
# into PostgreSQL from WRITERS stores at once (as that many portals would). Issue 20's target:
# PostgreSQL state >= 50,000 views/s recorded.
#
# PostgreSQL is a fresh cluster of this machine's PostgreSQL (scripts/with-postgres), with its
# default durability (fsync, synchronous_commit on: PG_DURABLE=1), on loopback; SQLite is WAL in a
# temp dir. Both share the machine's cores with the benchmark.
#
# Environment: VIEWS (400000), BATCH (5000), ROUNDS (3), WRITERS (2), DAYS (30: views spread over
# the last 30 days; 1: all today, as a portal's live traffic), POPULAR=1 (items skewed to a few
# popular ones, as a portal's traffic is; default uniform), REBUILD=1, TMPDIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

VIEWS="${VIEWS:-400000}"
BATCH="${BATCH:-5000}"
ROUNDS="${ROUNDS:-3}"
WRITERS="${WRITERS:-2}"
DAYS="${DAYS:-30}"
POPULAR="${POPULAR:-0}"

say "state-ingest benchmark: $VIEWS views over $DAYS day(s) (popular=$POPULAR) in batches of $BATCH, $ROUNDS rounds, then $WRITERS PostgreSQL writers"
machine_summary
ensure_almanac
WORK="$(mktemp -d "${TMPDIR:-/tmp}/almanac-state-ingest.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

PG_DURABLE=1 "$REPO/scripts/with-postgres" bash -c '
    set -euo pipefail
    "$1" bench-state-ingest --postgres "$ALMANAC_TEST_POSTGRES_URL" --dir "$2" \
        --views "$3" --batch "$4" --rounds "$5" --writers "$6" --days "$7" $8
' _ "$ALMANAC_BENCH" "$WORK" "$VIEWS" "$BATCH" "$ROUNDS" "$WRITERS" "$DAYS" "$([ "$POPULAR" = 1 ] && echo --popular)"
