-- wrk script for Benchmarks/readers.sh: GET one page (or a rotating list of pages) as one reader or
-- as many distinct readers, the way an SSO proxy in front of the portal would send them: every
-- request carries the reader's name in USER_HEADER and their groups in GROUPS_HEADER, and a
-- browser's User-Agent (not one the portal treats as automated, so every view is counted).
--
-- Environment:
--   PATHS         file of request paths, one a line; each wrk thread walks it in order from its own
--                 starting offset (thread k of n starts k/n of the way in)
--   READERS_FILE  users.tsv from company_load.py prepare: "name<TAB>group,group" a line
--   READERS       how many distinct readers: 1 = the file's first line on every request; N = each
--                 request's reader drawn uniformly at random from the first N lines (seeded per
--                 thread, so runs repeat)
--   USER_HEADER, GROUPS_HEADER (X-Forwarded-User, X-Forwarded-Groups), USER_AGENT, SEED, WRK_THREADS
-- nginx gets the very same requests (it ignores the headers).
-- The done() hook prints one WRKJSON line with p50/p90/p99/p99.9.

local paths_file = assert(os.getenv("PATHS"), "PATHS is not set")
local users_file = assert(os.getenv("READERS_FILE"), "READERS_FILE is not set")
local readers = tonumber(os.getenv("READERS") or "1")
local user_header = os.getenv("USER_HEADER") or "X-Forwarded-User"
local groups_header = os.getenv("GROUPS_HEADER") or "X-Forwarded-Groups"
local agent = os.getenv("USER_AGENT") or "Mozilla/5.0"
local seed = tonumber(os.getenv("SEED") or "17")

local paths = {}
for line in io.lines(paths_file) do
  if #line > 0 then paths[#paths + 1] = line end
end
assert(#paths > 0, paths_file .. " has no paths")

local names, groups = {}, {}
for line in io.lines(users_file) do
  local name, g = line:match("^([^\t]+)\t([^\t]*)$")
  if name then
    names[#names + 1] = name
    groups[#groups + 1] = g
  end
  if #names >= readers then break end
end
assert(#names >= readers, users_file .. " has fewer than " .. readers .. " readers")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local index = 0
local headers = {}
function init(args)
  local t = tonumber(tid) or 1
  local n = tonumber(os.getenv("WRK_THREADS") or "2")
  index = math.floor((t - 1) * #paths / n) % #paths
  math.randomseed(seed * 1000 + t)
  headers["User-Agent"] = agent
  headers[user_header] = names[1]
  headers[groups_header] = groups[1]
end

function request()
  index = index % #paths + 1
  if readers > 1 then
    local r = math.random(readers)
    headers[user_header] = names[r]
    headers[groups_header] = groups[r]
  end
  return wrk.format("GET", paths[index], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
