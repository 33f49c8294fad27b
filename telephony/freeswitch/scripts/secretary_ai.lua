--- FreeSWITCH entry point of the AI secretary (mod_lua):
---   <action application="lua" data="secretary_ai.lua <secretary uuid or extension>"/>
--- The channel needs `domain_uuid` (FusionPBX sets it); see docs/freeswitch.md for every variable.
---
--- mod_lua provides `session`, `freeswitch` and `argv` as globals and calls hooks by global name only, so
--- this file is the one place that touches globals: it defines the two hook functions below and hands the
--- rest to voice_ai.callflow, which takes everything as parameters.
local callflow = require("voice_ai.callflow")

local call = callflow.new(session, freeswitch, argv)

function voice_ai_on_input(_, kind, input)
  return call:on_input(kind, input)
end

function voice_ai_on_hangup(_, how)
  return call:on_hangup(how)
end

call:run("voice_ai_on_input", "voice_ai_on_hangup")
