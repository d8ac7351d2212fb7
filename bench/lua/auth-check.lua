-- GET /v1/auth/check (the reverse-proxy check) with each pool token as the bearer: 200 naming the
-- right token id for a valid one, 401 for anything else.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local pool, i, expect = {}, 0, ""
function init(args)
  pool = my_lines(env("BENCH_POOL"))
end
function request()
  i = i % #pool + 1
  local secret
  secret, expect = split_pair(pool[i])
  return wrk.format("GET", "/v1/auth/check", { ["authorization"] = "Bearer " .. secret })
end
function response(status, headers, body)
  if expect == "-" then
    if status ~= 401 then return fail("accepted a token that must be refused: status " .. status) end
  else
    if status ~= 200 then return fail("refused a valid token: status " .. status) end
    if headers["x-latchkey-token-id"] ~= expect then return fail("wrong token id") end
  end
  pass()
end
