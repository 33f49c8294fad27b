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
--- cannot load or fails before it can look after the caller itself, voice_ai.rescue (FreeSWITCH's API only)
--- plays the apology and sends the caller to the fallback.
---
--- Streaming mode (`voice_ai_mode=stream`, docs/streaming.md): when mod_audio_stream is loaded, voice_ai.stream
--- hands the call to the service over the event socket instead; without the module the turn-based flow runs.
local here = (debug.getinfo(1, "S").source or ""):match("^@(.+)/[^/]+$")
if here then
  package.path = here .. "/?.lua;" .. package.path
end

local rescued, rescue = pcall(require, "voice_ai.rescue")

local ok, err = pcall(function()
  local mode = session:getVariable("voice_ai_mode")
  if type(mode) == "string" and mode:lower() == "stream" then
    local stream = require("voice_ai.stream")
    local api = freeswitch.API()
    if stream.available(api) then
      return stream.run(session, api, { scripts_dir = here, secretary = argv and argv[1] })
    end
    session:consoleLog("warning", "[voice_ai] voice_ai_mode=stream but mod_audio_stream is not loaded: " ..
      "the turn-based flow takes the call (docs/streaming.md)\n")
  end
  local call = require("voice_ai.callflow").new(session, freeswitch, argv, { scripts_dir = here })
  function voice_ai_on_input(_, kind, input)
    return call:on_input(kind, input)
  end
  function voice_ai_on_hangup(_, how)
    return call:on_hangup(how)
  end
  call:run("voice_ai_on_input", "voice_ai_on_hangup")
end)
if not ok then
  local reason = "the call flow did not load or failed: " .. tostring(err)
  if rescued then
    return rescue.run(session, reason) -- does nothing when the flow already sent the caller away
  end
  -- a broken install (voice_ai/ missing): nothing of ours is left to apologise with
  session:consoleLog("crit", "[voice_ai] " .. reason .. "; voice_ai/rescue.lua did not load either (" ..
    tostring(rescue) .. "): reinstall with voice-ai freeswitch install\n")
end
