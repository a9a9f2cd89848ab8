-- wrk script for Benchmarks/mixed-load.sh and soak.sh: a company's morning on the portal.
--
-- Each request: a class drawn by its share (search, suggest, report, api, customer, home, browse,
-- from MIX_PLAN's "class" lines), then a URL of that class by its weight (popular reports,
-- metrics and customers more often: the weights are Zipf-like, see company_load.py prepare),
-- then a reader drawn uniformly from MIX_USERS who may see that URL (restricted reports go only
-- to readers in one of their access groups or an admin group). The reader's name and groups go
-- in USER_HEADER / GROUPS_HEADER, as the SSO proxy sends them; every request has a browser's
-- User-Agent (never one the portal treats as automated). Views opened "from" search or the home
-- page carry that page as their Referer, as a browser's would (the portal records the source).
--
-- Every request carries X-Request-ID: CLASS-FLAG-THREAD-SEQ (FLAG v = the route counts a view),
-- which the portal echoes; response() reads it back to count each class's statuses and the 2xx
-- responses on view-counting routes. wrk gives no per-request hook that knows its request, so
-- this is how a response finds its class. Counters live in flat per-thread tables (wrk 4.1's
-- thread:get cannot copy nested tables) and done() sums them over the threads.
--
-- Environment: MIX_PLAN, MIX_USERS, USER_HEADER, GROUPS_HEADER, USER_AGENT, ADMIN_GROUPS
-- (comma-separated; default data-platform), SEED, WRK_THREADS, COUNT_RESPONSES (default 1).

local plan_file = assert(os.getenv("MIX_PLAN"), "MIX_PLAN is not set")
local users_file = assert(os.getenv("MIX_USERS"), "MIX_USERS is not set")
local user_header = os.getenv("USER_HEADER") or "X-Forwarded-User"
local groups_header = os.getenv("GROUPS_HEADER") or "X-Forwarded-Groups"
local agent = os.getenv("USER_AGENT") or "Mozilla/5.0"
local seed = tonumber(os.getenv("SEED") or "17")

local function split(s, sep)
  local out = {}
  for piece in (s .. sep):gmatch("(.-)" .. sep) do out[#out + 1] = piece end
  return out
end

local function set_of(list)
  local set = {}
  for _, v in ipairs(split(list, ",")) do if v ~= "" and v ~= "-" then set[v] = true end end
  return set
end

local admin = set_of(os.getenv("ADMIN_GROUPS") or "data-platform")

-- The plan: classes with their shares, URLs with class, weight, view flag, access, path.
local classes, by_name = {}, {}
local urls = {}
for line in io.lines(plan_file) do
  if line:sub(1, 1) ~= "#" and #line > 0 then
    local f = split(line, "\t")
    if f[1] == "class" then
      local c = { name = f[2], share = tonumber(f[3]), urls = {}, cum = {}, total = 0 }
      classes[#classes + 1] = c
      by_name[c.name] = c
    elseif f[1] == "url" then
      urls[#urls + 1] = f
    end
  end
end
for _, f in ipairs(urls) do
  local c = by_name[f[2]]
  if c then
    local access = f[5]
    c.urls[#c.urls + 1] = { path = f[6], views = f[4] == "v", access = access ~= "-" and set_of(access) or nil }
    c.total = c.total + tonumber(f[3])
    c.cum[#c.cum + 1] = c.total
  end
end
local class_cum, class_total = {}, 0
for i, c in ipairs(classes) do
  assert(#c.urls > 0, "class " .. c.name .. " has no URLs in " .. plan_file)
  class_total = class_total + c.share
  class_cum[i] = class_total
end

-- The readers.
local users = {}
for line in io.lines(users_file) do
  local name, g = line:match("^([^\t]+)\t([^\t]*)$")
  if name then users[#users + 1] = { name = name, groups = g, set = set_of(g) } end
end
assert(#users > 0, users_file .. " has no readers")

local function pick(cum, total)
  local x = math.random() * total
  local lo, hi = 1, #cum
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cum[mid] < x then lo = mid + 1 else hi = mid end
  end
  return lo
end

local function may_see(user, url)
  if not url.access then return true end
  for g in pairs(user.set) do
    if url.access[g] or admin[g] then return true end
  end
  return false
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

-- Per-thread counters, flat: counts["search.sent"], counts["search.s2"], ..., counts["views2xx"].
counts = {}
local headers = {}
local seq = 0
-- wrk 4.1 calls request() once on the first thread before the run, to check the request parses
-- (script_verify_request); that request is never sent, so it is not counted.
local unsent = 0
local referers = {}
local search_paths = {}

function init(args)
  math.randomseed(seed * 1000 + (tonumber(tid) or 1))
  for _, c in ipairs(classes) do
    for _, k in ipairs({ "sent", "s2", "s3", "s4", "s5", "views" }) do counts[c.name .. "." .. k] = 0 end
  end
  counts["views_sent"] = 0
  counts["views2xx"] = 0
  counts["views_non2xx"] = 0
  counts["unmatched"] = 0
  if tonumber(tid) == 1 then unsent = 1 end
  headers["User-Agent"] = agent
  local origin = "http://" .. wrk.host .. ":" .. wrk.port
  referers.home = origin .. "/"
  if by_name.search then
    for _, u in ipairs(by_name.search.urls) do search_paths[#search_paths + 1] = origin .. u.path end
  end
end

function request()
  local c = classes[pick(class_cum, class_total)]
  local url = c.urls[pick(c.cum, c.total)]
  local user = users[math.random(#users)]
  local tries = 0
  while not may_see(user, url) do
    user = users[math.random(#users)]
    tries = tries + 1
    if tries > 1000 then error("no reader may see " .. url.path) end
  end
  seq = seq + 1
  headers[user_header] = user.name
  headers[groups_header] = user.groups
  headers["X-Request-ID"] = c.name .. "-" .. (url.views and "v" or "n") .. "-" .. tid .. "-" .. seq
  headers["Referer"] = nil
  if url.views then
    -- Where the reader came from: a search results page, the home page, or a link/bookmark.
    local r = math.random()
    if r < 0.35 and #search_paths > 0 then
      headers["Referer"] = search_paths[math.random(#search_paths)]
    elseif r < 0.50 then
      headers["Referer"] = referers.home
    end
  end
  if unsent > 0 then
    unsent = unsent - 1
  else
    counts[c.name .. ".sent"] = counts[c.name .. ".sent"] + 1
    if url.views then counts["views_sent"] = counts["views_sent"] + 1 end
  end
  return wrk.format("GET", url.path, headers)
end

local function count_response(status, hdrs, body)
  local id = hdrs["X-Request-ID"] or hdrs["x-request-id"]
  local name, flag = nil, nil
  if id then name, flag = id:match("^(%a+)-([vn])-") end
  if not name or counts[name .. ".sent"] == nil then
    counts["unmatched"] = counts["unmatched"] + 1
    return
  end
  local bucket = "s" .. math.min(5, math.max(2, math.floor(status / 100)))
  counts[name .. "." .. bucket] = counts[name .. "." .. bucket] + 1
  if flag == "v" then
    if status >= 200 and status < 300 then
      counts["views2xx"] = counts["views2xx"] + 1
      counts[name .. ".views"] = counts[name .. ".views"] + 1
    else
      counts["views_non2xx"] = counts["views_non2xx"] + 1
    end
  end
end

-- wrk hands response() every body (copied into a Lua string): ~230 µs of wrk's CPU per 200 KB page
-- on this machine, against ~50 µs without the hook. COUNT_RESPONSES=0 leaves it out (then only the
-- requests sent per class are known, and views can be checked only against the portal's /metrics).
if os.getenv("COUNT_RESPONSES") ~= "0" then response = count_response end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local parts, non2xx = {}, 0
  for _, c in ipairs(classes) do
    local n = function(k) return total[c.name .. "." .. k] or 0 end
    local done_ = n("s2") + n("s3") + n("s4") + n("s5")
    non2xx = non2xx + n("s3") + n("s4") + n("s5")
    parts[#parts + 1] = string.format(
      '"%s":{"sent":%d,"done":%d,"s2":%d,"s3":%d,"s4":%d,"s5":%d,"views":%d}',
      c.name, n("sent"), done_, n("s2"), n("s3"), n("s4"), n("s5"), n("views"))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"non2xx":%d,"views_sent":%d,"views2xx":%d,"views_non2xx":%d,"unmatched":%d,"counted":%s,"classes":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    non2xx, total["views_sent"] or 0, total["views2xx"] or 0, total["views_non2xx"] or 0, total["unmatched"] or 0,
    response and "true" or "false", table.concat(parts, ",")))
end
