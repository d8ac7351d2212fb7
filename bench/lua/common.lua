-- Shared by every workload script: per-thread counters, token files, and one JSON line at the end.
-- Every thread holds exactly one connection (wrk -t C -c C), so within a thread each response
-- answers the request made just before it, and every answer can be checked against what was sent.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

wrong = 0
checked = 0
stale = 0
exhausted = 0
first_wrong = ""

function fail(message)
  wrong = wrong + 1
  if first_wrong == "" then first_wrong = string.gsub(message, "[^%w%s%.:/_-]", "?") end
end

function pass()
  checked = checked + 1
end

function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    if default == nil then error("missing environment variable " .. name) end
    return default
  end
  return value
end

-- This thread's share of a file: line i goes to thread i mod threads.
function my_lines(path)
  local nthreads = tonumber(env("BENCH_THREADS"))
  local out = {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then out[#out + 1] = line end
    i = i + 1
  end
  return out
end

-- "secret expect": expect is a token id, "+" (active, any id) or "-" (must be refused).
function split_pair(line)
  local a, b = string.match(line, "^(%S+)%s+(%S+)$")
  return a, b
end

function urlencode(text)
  return (string.gsub(text, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function json_field(body, name)
  return string.match(body, '"' .. name .. '":"([^"]*)"')
end

function done(summary, latency, requests)
  local t = { wrong = 0, checked = 0, stale = 0, exhausted = 0, first = "" }
  for _, thread in ipairs(threads) do
    t.wrong = t.wrong + (thread:get("wrong") or 0)
    t.checked = t.checked + (thread:get("checked") or 0)
    t.stale = t.stale + (thread:get("stale") or 0)
    t.exhausted = t.exhausted + (thread:get("exhausted") or 0)
    local f = thread:get("first_wrong") or ""
    if t.first == "" then t.first = f end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"wrong":%d,"checked":%d,"stale":%d,"exhausted":%d,"first_wrong":"%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    t.wrong, t.checked, t.stale, t.exhausted, t.first))
end
