--- Streaming mode (channel variable `voice_ai_mode=stream`): the Voice AI Service drives the call over
--- FreeSWITCH's event socket while mod_audio_stream carries the caller's audio to it over a WebSocket
--- (docs/streaming.md). This module only hands the call over and takes it back:
---
---   answer → `socket <voice_ai_esl> async full` (the service's event socket server, one connection per call)
---   → the service plays, listens, transfers or hangs up while the socket application parks the call
---   → the socket application returns when the service is done with the call:
---        * the service transferred the call, or it hung up: the channel is no longer ready — nothing to do;
---        * the channel is still here: the service gave the call back (it failed, it died, it never answered):
---          the local apology and the fallback destination (voice_ai.rescue), as in the turn-based flow.
---
--- `socket_resume=true` is set here, before the socket application runs, so that a service that dies before it
--- could say `resume` still gives the call back to this script (mod_event_socket reads the variable when the
--- connection ends). Like every module here, it takes `session` and the `freeswitch` table as parameters.
---
---   voice_ai_mode          "stream": this module (when mod_audio_stream is loaded); anything else: turn-based
---   voice_ai_esl           the service's event socket server, host:port   (default 127.0.0.1:8084); several
---                          instances as host:port|host:port (the socket app tries them in order)
local rescue = require("voice_ai.rescue")

local M = {}

M.DEFAULT_ESL = "127.0.0.1:8084"
local MODULE = "mod_audio_stream"
local ESL = "^[%w%.%-]+:%d+$" -- host:port (names and IPv4; no spaces: it is one argument of the socket app)
local ESL_V6 = "^%[[%x:%.]+%]:%d+$"

local function var(session, name)
  return rescue.var(session, name)
end

--- mod_audio_stream is loaded in this FreeSWITCH (`module_exists`).
function M.available(api)
  local ok, answer = pcall(api.execute, api, "module_exists", MODULE)
  return ok and type(answer) == "string" and answer:match("^%s*true") ~= nil
end

--- Where the service's event socket server listens: `voice_ai_esl`, checked (it becomes the socket app's data).
function M.address(session)
  local value = var(session, "voice_ai_esl") or M.DEFAULT_ESL
  for entry in (value .. "|"):gmatch("([^|]*)|") do
    if not (entry:match(ESL) or entry:match(ESL_V6)) then
      return nil, "voice_ai_esl is not host:port[|host:port…]: " .. value
    end
  end
  return value
end

--- Hand the call to the service and take it back when the service lets go. `api` is `freeswitch.API()`;
--- `opts.scripts_dir` the folder of the entry scripts (the service names the no-route script by its path when it
--- transfers); `opts.secretary` the entry script's argument (else the channel's `voice_ai_secretary`). Both reach
--- the service as channel variables. Returns when the call is no longer this script's.
function M.run(session, api, opts)
  opts = opts or {}
  local uuid = session:get_uuid()
  local address, problem = M.address(session)
  if not address then
    return rescue.run(session, "[stream] " .. problem)
  end
  if not session:answered() then
    session:answer()
  end
  session:setVariable("socket_resume", "true")
  if type(opts.secretary) == "string" and opts.secretary ~= "" then
    session:setVariable("voice_ai_secretary", opts.secretary)
  end
  if opts.scripts_dir then
    session:setVariable("voice_ai_scripts_dir", opts.scripts_dir)
  end
  session:consoleLog("info", "[voice_ai] streaming: handing the call to the service at " .. address .. "\n")
  session:execute("socket", address .. " async full")
  if not session:ready() then
    -- the service transferred the call (FreeSWITCH routes it when this script returns) or somebody hung up
    session:consoleLog("info", "[voice_ai] streaming: the call left the service (" ..
      (var(session, "transfer_source") and "transferred" or "hung up") .. ")\n")
    return
  end
  -- the service let go of a call it did not end: it failed, died, or was never there
  pcall(api.execute, api, "uuid_audio_stream", uuid .. " stop")
  pcall(api.execute, api, "uuid_break", uuid .. " all")
  local reason = var(session, "voice_ai_stream_error") or "the service closed the event socket (down or failed)"
  return rescue.run(session, "[stream] " .. reason)
end

return M
