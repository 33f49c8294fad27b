-- luacheck configuration: Lua 5.3 standard library only; modules may not read or write any global.
std = "lua53"
max_line_length = 120
files["scripts/secretary_ai.lua"] = {
  -- mod_lua's globals, and the two hooks it can only call by global name
  read_globals = { "session", "freeswitch", "argv" },
  globals = { "voice_ai_on_input", "voice_ai_on_hangup" },
}
files["spec"] = { std = "+busted", self = false, max_line_length = 140 }
files["spec/support/run_call.lua"] = { globals = { "session", "freeswitch", "argv" } }
