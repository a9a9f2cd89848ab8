-- wrk script for Benchmarks/search-http.sh: GET /api/search?q=QUERY&limit=10, QUERY rotating
-- through the search harness's query set (one query a line, as typed: hostile ones included),
-- percent-encoded byte by byte (everything but A-Z a-z 0-9 - . _ ~), so every query reaches the
-- server as the user's text. Each wrk thread walks the list in order from its own starting
-- offset (thread k of n starts at k/n of the list), so the threads do not send the same query
-- at the same moment and every query is sent about equally often; no randomness, so runs repeat.
--
-- Environment: SEARCH_QUERIES (default data/queries.txt, relative to wrk's working folder),
-- SEARCH_LIMIT (default 10), SEARCH_PATH (default /api/search), WRK_THREADS (wrk's -t, default 2).
-- The done() hook of wrk-report.lua (next to this file) prints the WRKJSON line.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk-report.lua")

local file = os.getenv("SEARCH_QUERIES") or "data/queries.txt"
local limit = os.getenv("SEARCH_LIMIT") or "10"
local path = os.getenv("SEARCH_PATH") or "/api/search"

local function encode(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local requests = {}
for line in io.lines(file) do
  if #line > 0 then
    requests[#requests + 1] = wrk.format("GET", path .. "?q=" .. encode(line) .. "&limit=" .. limit)
  end
end
assert(#requests > 0, file .. " has no queries")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local index = 0
function init(args)
  -- thread k (1-based) of WRK_THREADS starts (k-1)/WRK_THREADS of the way into the list
  local t = tonumber(tid) or 1
  local n = tonumber(os.getenv("WRK_THREADS") or "2")
  index = math.floor((t - 1) * #requests / n) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end
