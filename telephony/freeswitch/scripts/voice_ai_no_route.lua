--- Run by FreeSWITCH, not by a dialplan of yours, when the call flow's transfer finds no extension:
--- * the call flow transfers with `transfer <destination> XML,inline:lua:voice_ai_no_route.lua <context>` and
---   FreeSWITCH hunts the dialplans in order, so this runs on the caller's channel when XML finds nothing for
---   the destination (or no such context);
--- * on a plain FreeSWITCH the `voice_ai_no_route` guard extension (from `voice-ai freeswitch dialplan --flavor
---   freeswitch`), last in the context, runs it when only `continue="true"` extensions matched the destination.
--- Either way it acts only on the call flow's own pending transfer (voice_ai.rescue.pending_transfer): a later
--- transfer by whoever took the call is not ours, and ends as FreeSWITCH would end it (NO_ROUTE_DESTINATION).
--- Ours: it tells the service and sends the caller to the operator (voice_ai.callflow, Call:recover_transfer).
--- Like secretary_ai.lua it finds our modules next to itself and survives a call flow that does not load.
local here = (debug.getinfo(1, "S").source or ""):match("^@(.+)/[^/]+$")
if here then
  package.path = here .. "/?.lua;" .. package.path
end

local rescued, rescue = pcall(require, "voice_ai.rescue")
if not rescued then
  session:consoleLog("crit", "[voice_ai] a transfer did not route and voice_ai/rescue.lua did not load (" ..
    tostring(rescue) .. "): reinstall with voice-ai freeswitch install\n")
  return session:hangup("NO_ROUTE_DESTINATION")
end

local destination, context = rescue.pending_transfer(session)
if not destination then
  session:consoleLog("notice", "[voice_ai] no route, and not the call flow's transfer (" .. context ..
    "): the call ends as FreeSWITCH would end it\n")
  return session:hangup("NO_ROUTE_DESTINATION")
end

local ok, err = pcall(function()
  local call = require("voice_ai.callflow").resume(session, freeswitch, { scripts_dir = here })
  function voice_ai_on_input(_, kind, input)
    return call:on_input(kind, input)
  end
  function voice_ai_on_hangup(_, how)
    return call:on_hangup(how)
  end
  call:recover_transfer("voice_ai_on_input", "voice_ai_on_hangup")
end)
if not ok then
  -- does nothing when the flow already sent the caller away; never the destination that did not route
  rescue.run(session, "a transfer did not route and the call flow did not load or failed: " .. tostring(err),
    destination .. "@" .. context)
end
