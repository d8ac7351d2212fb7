-- Revoke, then verify: for each token, introspect (must be active), revoke it (RFC 7009), introspect
-- again at once (must be {"active":false}). An active answer after the revoke is a stale accept.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local tokens, i, step, auth, secret = {}, 0, 0, "", ""
function init(args)
  tokens = my_lines(env("BENCH_POOL"))
  auth = env("BENCH_AUTH")
end
function request()
  step = step % 3 + 1
  if step == 1 then
    i = i + 1
    if i > #tokens then
      i = 1
      exhausted = exhausted + 1
    end
    secret = tokens[i]
  end
  local path = step == 2 and "/oauth2/revoke" or "/oauth2/introspect"
  return wrk.format("POST", path,
    { ["authorization"] = auth, ["content-type"] = "application/x-www-form-urlencoded" },
    "token=" .. urlencode(secret))
end
function response(status, headers, body)
  if status ~= 200 then return fail("status " .. status .. " at step " .. step) end
  if step == 1 then
    -- A token this thread already revoked (only after it ran out of fresh ones) must stay refused.
    local want = exhausted == 0 and '"active":true' or '{"active":false}'
    if not string.find(body, want, 1, true) then return fail("before revoke: " .. string.sub(body, 1, 40)) end
  elseif step == 3 then
    if body ~= '{"active":false}' then
      stale = stale + 1
      return fail("stale accept after revoke")
    end
  end
  pass()
end
