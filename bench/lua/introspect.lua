-- RFC 7662 introspection of a pool of tokens, each answer checked: an expected id must come back
-- active with that jti, "+" active, "-" exactly {"active":false}.
-- Latchkey: the caller authenticates with Authorization: Bearer; the peer: client_secret_basic.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local pool, i, path, auth, expect = {}, 0, "", "", ""
function init(args)
  pool = my_lines(env("BENCH_POOL"))
  path = env("BENCH_PATH")
  auth = env("BENCH_AUTH")
end
function request()
  i = i % #pool + 1
  local secret
  secret, expect = split_pair(pool[i])
  return wrk.format("POST", path,
    { ["authorization"] = auth, ["content-type"] = "application/x-www-form-urlencoded" },
    "token=" .. urlencode(secret))
end
function response(status, headers, body)
  if status ~= 200 then return fail("status " .. status) end
  if expect == "-" then
    if body ~= '{"active":false}' then return fail("accepted a token that must be refused: " .. string.sub(body, 1, 60)) end
  else
    if not string.find(body, '"active":true', 1, true) then return fail("refused a valid token: " .. string.sub(body, 1, 60)) end
    if expect ~= "+" and json_field(body, "jti") ~= expect then return fail("wrong jti") end
  end
  pass()
end
