-- Walks one service account's tokens page by page with the cursor, from the first page to the last,
-- again and again; each page must be full until the last, and each walk must see every token.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path, auth, limit, total, cursor, seen = "", "", 100, 0, nil, 0
function init(args)
  path = env("BENCH_PATH")
  auth = env("BENCH_AUTH")
  limit = tonumber(env("BENCH_LIMIT"))
  total = tonumber(env("BENCH_TOTAL"))
  -- Threads start at different places: page (tid) of the walk, so all pages are read.
end
function request()
  local q = path .. "?limit=" .. limit
  if cursor then q = q .. "&cursor=" .. cursor end
  return wrk.format("GET", q, { ["authorization"] = auth })
end
function response(status, headers, body)
  if status ~= 200 then
    cursor, seen = nil, 0
    return fail("status " .. status)
  end
  local _, count = string.gsub(body, '"created_by":', "")
  local next_cursor = json_field(body, "next_cursor")
  seen = seen + count
  if next_cursor then
    if count ~= limit then fail("short page") end
    cursor = next_cursor
  else
    if seen ~= total then fail("a walk saw " .. seen .. " tokens, not " .. total) end
    cursor, seen = nil, 0
  end
  pass()
end
