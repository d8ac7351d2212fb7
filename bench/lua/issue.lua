-- Issuing: Latchkey opaque tokens (POST .../tokens, audited, committed), Latchkey token requests
-- (short-lived JWTs), or the peer's client_credentials. Every answer must carry a new token.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local kind, path, auth, run, n, name = "", "", "", "", 0, ""
function init(args)
  kind = env("BENCH_KIND")
  path = env("BENCH_PATH")
  auth = env("BENCH_AUTH")
  run = env("BENCH_RUN")
end
function request()
  n = n + 1
  if kind == "opaque" then
    name = "b-" .. run .. "-" .. tid .. "-" .. n
    return wrk.format("POST", path, { ["authorization"] = auth, ["content-type"] = "application/json" },
      '{"name":"' .. name .. '","ttl_seconds":86400}')
  elseif kind == "jwt" then
    return wrk.format("POST", path, { ["authorization"] = auth, ["content-type"] = "application/json" }, "{}")
  else
    local body = "grant_type=client_credentials&scope=api"
    if kind == "peer-jwt" then body = body .. "&resource=urn%3Abench%3Ajwt" end
    return wrk.format("POST", path,
      { ["authorization"] = auth, ["content-type"] = "application/x-www-form-urlencoded" }, body)
  end
end
function response(status, headers, body)
  if kind == "opaque" then
    if status ~= 201 then return fail("status " .. status) end
    local token = json_field(body, "token") or ""
    if not string.match(token, "^lk_[0-9A-Za-z]+$") or #token ~= 52 then return fail("no opaque token") end
    if json_field(body, "name") ~= name then return fail("wrong name") end
  elseif kind == "jwt" then
    if status ~= 201 then return fail("status " .. status) end
    if not string.match(json_field(body, "token") or "", "^eyJ[%w_-]+%.[%w_-]+%.[%w_-]+$") then return fail("no JWT") end
  else
    if status ~= 200 then return fail("status " .. status) end
    local token = json_field(body, "access_token") or ""
    if kind == "peer-jwt" then
      if not string.match(token, "^eyJ[%w_-]+%.[%w_-]+%.[%w_-]+$") then return fail("no JWT") end
    elseif #token < 40 or string.find(token, ".", 1, true) then
      return fail("no opaque token")
    end
  end
  pass()
end
