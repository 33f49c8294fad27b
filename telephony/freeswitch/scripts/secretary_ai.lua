--- FreeSWITCH entry point of the AI secretary (mod_lua):
---   <action application="lua" data="secretary_ai.lua <secretary uuid or extension>"/>
--- The channel needs `domain_uuid` (FusionPBX sets it); see docs/freeswitch.md for every variable.
---
--- mod_lua provides `session`, `freeswitch` and `argv` as globals and calls hooks by global name only, so
--- this file is the one place that touches globals: it defines the two hook functions below and hands the
--- rest to voice_ai.callflow, which takes everything as parameters.
---
--- Our modules are found next to this file whatever lua.conf's script-directory says (FreeSWITCH's stock
--- lua.conf.xml has it commented out): the folder of this file goes first on package.path. If the call flow
--- still cannot load, voice_ai.rescue (or, failing that, three lines below) sends the caller to the fallback.
local here = (debug.getinfo(1, "S").source or ""):match("^@(.+)/[^/]+$")
if here then
  package.path = here .. "/?.lua;" .. package.path
end

local loaded, callflow = pcall(require, "voice_ai.callflow")
if not loaded then
  local reason = "the call flow did not load: " .. tostring(callflow)
  local rescued, rescue = pcall(require, "voice_ai.rescue")
  if rescued then
    return rescue.run(session, reason)
  end
  session:consoleLog("crit", "[voice_ai] " .. reason .. "\n")
  local destination = session:getVariable("voice_ai_fallback_destination")
  if destination and destination:match("^[%w%+%*#][%w%+%*#%._@-]*$") then
    return session:execute("transfer", destination .. " XML " .. (session:getVariable("voice_ai_fallback_context") or
      session:getVariable("domain_name") or "default"))
  end
  return
end

local call = callflow.new(session, freeswitch, argv, { scripts_dir = here })

function voice_ai_on_input(_, kind, input)
  return call:on_input(kind, input)
end

function voice_ai_on_hangup(_, how)
  return call:on_hangup(how)
end

call:run("voice_ai_on_input", "voice_ai_on_hangup")
