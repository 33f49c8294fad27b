-- luacheck configuration: Lua 5.3 standard library only; modules may not read or write any global.
std = "lua53"
max_line_length = 120
local entry = {
  -- mod_lua's globals, and the two hooks it can only call by global name
  read_globals = { "session", "freeswitch", "argv" },
  globals = { "voice_ai_on_input", "voice_ai_on_hangup" },
}
files["scripts/secretary_ai.lua"] = entry
files["scripts/voice_ai_no_route.lua"] = entry
files["scripts/voice_ai_announce.lua"] = { std = "lua53", read_globals = { "session", "freeswitch", "argv" } }
-- the caller of the end-to-end tests on the real FreeSWITCH (a mod_lua script too)
files["spec/real/caller.lua"] = { std = "lua53", read_globals = { "session", "argv" } }
files["spec"] = { std = "+busted", self = false, max_line_length = 140 }
files["spec/support/run_call.lua"] = { globals = { "session", "freeswitch", "argv" } }
