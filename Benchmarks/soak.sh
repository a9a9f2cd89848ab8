#!/usr/bin/env bash
# Soak (issue 17): the morning mix of mixed-load.sh (5,000 distinct readers, 64 connections, search,
# suggest, report pages, JSON API, customer dashboards, home, browse) for 10 minutes after a
# 16-minute warm-up, then three checks, each printed with its figures, and PASS or FAIL (exit 1).
# The warm-up is long because RSS climbs in steps of 20-70 MB for about 10 minutes of this load,
# and it is not a flat line after that either: it steps up while the load runs and drops by
# 90-200 MB when wrk stops and its 64 connections close (at the timed run's start: a new wrk). Two soaks of
# 2026-12-06 (16-minute warm-ups, ~11,600 req/s) stayed between 600 and 835 MB, the timed run's
# peak 707 and 715 MB. A 6-minute warm-up ends in the climb, which then counts as growth.
# The checks:
#   1. no errors: 0 non-2xx responses, 0 socket errors (connect, read, write, and timeouts: a
#      response slower than TIMEOUT, 5 s) over the warm-up and the timed run;
#   2. RSS flat after the warm-up: the median of the portal's VmRSS (sampled every RSS_EVERY, 5 s,
#      into rss.csv) over the warm-up's last minute against the timed run's last minute (RSS_WINDOW,
#      60 s); both are printed with the growth in percent, which must be <= RSS_GROWTH_MAX (10%).
#      Not the timed run's first minute: the timed run is a new wrk, and when the warm-up's stops
#      the portal gives back 90-200 MB that the new load takes up again (printed too, for information);
#      or, while the bounded caches are still filling toward their stated bounds, the same for
#      RSS minus the bytes they hold (almanac_cache_bytes, sampled with it): a cache filling to its
#      bound is not growth. Both figures are printed, whichever decides;
#   3. every view recorded once: after the load, the portal is stopped gracefully (SIGTERM: it
#      writes every view accepted before it; otherwise it writes its buffer every second), and the
#      rows of the state store's `views` table are compared with the view-counting requests the
#      portal served. Views are counted by GET /reports/{id}, /templates/{id} (with or without
#      parameters), /glossary/{id} and their /api twins (recordView in Controllers.swift), for
#      clients that are not automated (ViewContext.isAutomated: the load sends a browser's
#      User-Agent, checked against that list before the run). The served count is the portal's own
#      http_server_requests_total{http_route=…, http_request_method="GET", http_response_status_code=2xx}
#      from /metrics when that family exists; otherwise wrk's 2xx responses on those routes (the
#      Lua response() hook, summed over wrk's threads in done()) plus the verification requests.
#      Allowed: views - served between 0 and the requests in flight when wrk stopped (written by
#      wrk, answer never read: their view may be recorded with no count on either side); fewer
#      views than served means views were lost. The daily rollup must equal the raw log.
#
# Environment: as mixed-load.sh; here DURATION defaults to 600 s, WARMUP to 960 s, RSS_EVERY to 5 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export MODE=soak
export DURATION="${DURATION:-600}" WARMUP="${WARMUP:-960}" RSS_EVERY="${RSS_EVERY:-5}"
exec "$HERE/mixed-load.sh" "$@"
