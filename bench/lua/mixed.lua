-- The mixed load: 90% verify (introspection of the pool, checked), 9% issue an opaque token,
-- 1% revoke one (RFC 7009).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local pool, revocable, i, r, auth, issue_path, run, n = {}, {}, 0, 0, "", "", "", 0
local kind, expect, name = "", "", ""
function init(args)
  pool = my_lines(env("BENCH_POOL"))
  revocable = my_lines(env("BENCH_REVOCABLE"))
  auth = env("BENCH_AUTH")
  issue_path = env("BENCH_ISSUE_PATH")
  run = env("BENCH_RUN")
  math.randomseed(tid * 7919 + tonumber(run))
end
function request()
  local x = math.random()
  local form = { ["authorization"] = auth, ["content-type"] = "application/x-www-form-urlencoded" }
  if x < 0.90 then
    kind = "verify"
    i = i % #pool + 1
    local secret
    secret, expect = split_pair(pool[i])
    return wrk.format("POST", "/oauth2/introspect", form, "token=" .. urlencode(secret))
  elseif x < 0.99 or r >= #revocable then
    if x >= 0.99 then exhausted = exhausted + 1 end
    kind = "issue"
    n = n + 1
    name = "m-" .. run .. "-" .. tid .. "-" .. n
    return wrk.format("POST", issue_path, { ["authorization"] = auth, ["content-type"] = "application/json" },
      '{"name":"' .. name .. '","ttl_seconds":86400}')
  else
    kind = "revoke"
    r = r + 1
    return wrk.format("POST", "/oauth2/revoke", form, "token=" .. urlencode(revocable[r]))
  end
end
function response(status, headers, body)
  if kind == "verify" then
    if status ~= 200 then return fail("verify status " .. status) end
    if expect == "-" then
      if body ~= '{"active":false}' then return fail("accepted a token that must be refused") end
    elseif json_field(body, "jti") ~= expect then
      return fail("refused a valid token or wrong jti")
    end
  elseif kind == "issue" then
    if status ~= 201 or json_field(body, "name") ~= name then return fail("issue status " .. status) end
  else
    if status ~= 200 then return fail("revoke status " .. status) end
  end
  pass()
end
