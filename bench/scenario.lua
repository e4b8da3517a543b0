-- wrk script: sends, in turn, the requests of a Lua file bench/harness.py wrote
-- (wrk ... -s scenario.lua URL -- REQUESTS.lua PREFIX). "__TITLE__" in a body becomes PREFIX
-- followed by a counter, so each request of the run names a new instance. At the end, the same
-- machine-readable line as report.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local requests, fixed, prefix = {}, {}, "t"
local counter, turn = 0, 0

init = function(args)
  requests = dofile(args[1])
  prefix = args[2] or prefix
  for i, r in ipairs(requests) do
    if not (r.body and r.body:find("__TITLE__", 1, true)) then
      fixed[i] = wrk.format(r.method, r.path, r.headers, r.body)
    end
  end
end

request = function()
  turn = turn % #requests + 1
  if fixed[turn] then
    return fixed[turn]
  end
  local r = requests[turn]
  counter = counter + 1
  local body = r.body:gsub("__TITLE__", prefix .. counter)
  return wrk.format(r.method, r.path, r.headers, body)
end
