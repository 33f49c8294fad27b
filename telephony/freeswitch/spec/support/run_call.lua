--- Run one call through the real entry script under the FreeSWITCH emulator, the way mod_lua would:
---   lua5.3 spec/support/run_call.lua <scenario.json> <transcript.json>
--- The scenario (JSON): script (path of secretary_ai.lua), argv (list), uuid, variables (channel), globals
--- (FreeSWITCH global variables), caller (see emulator.lua). The transcript (JSON) lists what the script did:
--- events (answer, playback, record, dtmf, execute, transfer, hangup, hangup_hook, error), FreeSWITCH log
--- lines, the final channel state and variables.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path

local cjson = require("cjson")
local emulator = require("emulator")

local function slurp(path)
  local handle = assert(io.open(path, "rb"))
  local text = handle:read("*a")
  handle:close()
  return text
end

local scenario = cjson.decode(slurp(assert(arg[1], "usage: run_call.lua scenario.json transcript.json")))
local out_path = assert(arg[2], "usage: run_call.lua scenario.json transcript.json")
local script = assert(scenario.script, "scenario.script is required")
local scripts_dir = script:match("^(.*)/[^/]*$") or "."
-- lua.conf's script-directory, ending in ";;" so the default path (LuaSocket, lua-cjson) stays
package.path = scripts_dir .. "/?.lua;" .. package.path

local em = emulator.new({
  uuid = scenario.uuid, variables = scenario.variables, globals = scenario.globals, caller = scenario.caller,
})
session = em.session
freeswitch = em.freeswitch
argv = scenario.argv or {}

local wall = os.clock()
local ok, err = pcall(dofile, script)
if not ok then
  -- mod_lua logs the error and the channel goes on to autoHangup
  em.transcript.events[#em.transcript.events + 1] = { op = "script_error", message = tostring(err) }
end
-- a transfer XML could not route: FreeSWITCH runs the inline dialplan's script on the same channel
local inline = ok and em.take_inline()
while inline do
  argv = {}
  ok, err = pcall(dofile, inline:sub(1, 1) == "/" and inline or (scripts_dir .. "/" .. inline))
  if not ok then
    em.transcript.events[#em.transcript.events + 1] = { op = "script_error", message = tostring(err) }
  end
  inline = ok and em.take_inline()
end
local transcript = em.finish()
transcript.script_ok = ok
transcript.cpu_s = os.clock() - wall
local handle = assert(io.open(out_path, "wb"))
handle:write(cjson.encode(transcript))
handle:close()
