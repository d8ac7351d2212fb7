-- The floor: GET returns a fixed small object; POST echoes a number, checked per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local method, n = "GET", 0
function init(args)
  method = env("BENCH_METHOD", "GET")
end
function request()
  n = n + 1
  if method == "GET" then return wrk.format("GET", "/floor") end
  return wrk.format("POST", "/floor", { ["content-type"] = "application/json" }, '{"n":' .. n .. "}")
end
function response(status, headers, body)
  if status ~= 200 then return fail("status " .. status) end
  if method == "GET" then
    if body ~= '{"ok":true,"service":"floor"}' then return fail("body " .. body) end
  elseif body ~= '{"ok":true,"echo":' .. n .. "}" then
    return fail("echo " .. body)
  end
  pass()
end
