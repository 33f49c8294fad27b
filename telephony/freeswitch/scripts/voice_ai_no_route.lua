--- Run by FreeSWITCH, not by a dialplan of yours: the call flow transfers with
---   transfer <destination> XML,inline:lua:voice_ai_no_route.lua <context>
--- and FreeSWITCH hunts the dialplans in order, so this script runs on the caller's channel only when the XML
--- dialplan has no extension for the destination (otherwise the call would end in NO_ROUTE_DESTINATION, in
--- silence). It tells the service and sends the caller to the operator (voice_ai.callflow, Call:recover_transfer).
--- Like secretary_ai.lua it finds our modules next to itself and survives a call flow that does not load.
local here = (debug.getinfo(1, "S").source or ""):match("^@(.+)/[^/]+$")
if here then
  package.path = here .. "/?.lua;" .. package.path
end

local loaded, callflow = pcall(require, "voice_ai.callflow")
if not loaded then
  local reason = "a transfer did not route and the call flow did not load: " .. tostring(callflow)
  local rescued, rescue = pcall(require, "voice_ai.rescue")
  if rescued then
    return rescue.run(session, reason)
  end
  session:consoleLog("crit", "[voice_ai] " .. reason .. "\n")
  return session:hangup("NO_ROUTE_DESTINATION")
end

local call = callflow.resume(session, freeswitch, { scripts_dir = here })

function voice_ai_on_input(_, kind, input)
  return call:on_input(kind, input)
end

function voice_ai_on_hangup(_, how)
  return call:on_hangup(how)
end

call:recover_transfer("voice_ai_on_input", "voice_ai_on_hangup")
