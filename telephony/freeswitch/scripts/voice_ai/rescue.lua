--- The last resort, with FreeSWITCH's own API only (this module requires nothing, so it loads when the call flow
--- does not): the caller hears the local apology and goes to `voice_ai_fallback_destination` in
--- `voice_ai_fallback_context` (default: domain_name). Without a valid fallback (or when the fallback is what did not
--- route) the caller hears the apology and the call ends: never silence, never a hang-up without a word.
---
--- Both entry scripts (secretary_ai.lua, voice_ai_no_route.lua) use it when the call flow cannot load or fails to
--- start; the call flow itself fails over with voice_ai.callflow's richer path (it tells the service).
---
--- It also answers, for voice_ai_no_route.lua, whether the channel is being routed for the transfer the call flow
--- made (`pending_transfer`): the no-route script must act on that transfer only.
local M = {}

local TONE = "tone_stream://%(500,500,480,620);loops=3"
local TOKEN = "^[%w%+%*#][%w%+%*#%._@-]*$" -- a dialplan destination (no spaces, no leading "-")
local CONTEXT = "^[%w%._@-]+$"

--- A channel variable; nil when unset or empty (mod_lua answers "_undef_" for some unset values).
local function var(session, name)
  local value = session:getVariable(name)
  if value == nil or value == "" or value == "_undef_" then
    return nil
  end
  return value
end
M.var = var

--- `destination` and `context` are safe to put in a transfer (`transfer <destination> XML <context>`).
function M.valid_target(destination, context)
  return type(destination) == "string" and #destination <= 64 and destination:match(TOKEN) ~= nil and
    type(context) == "string" and #context <= 128 and context:match(CONTEXT) ~= nil
end

local function readable(path)
  local handle = io.open(path, "rb")
  if handle then
    handle:close()
    return true
  end
  return false
end

local function sound(session, name)
  local dir = var(session, "voice_ai_sounds_dir") or ((var(session, "sounds_dir") or "/usr/share/freeswitch/sounds") ..
    "/voice_ai")
  for _, language in ipairs({ var(session, "voice_ai_call_language") or var(session, "voice_ai_language") or "pt-BR",
    "pt-BR" }) do
    local path = dir .. "/" .. language .. "/" .. name .. ".wav"
    if readable(path) then
      return path
    end
  end
  return TONE
end

--- The transfer the call flow made and FreeSWITCH is routing now: its destination and context, or nil and why
--- not. The call flow leaves `voice_ai_transfer_destination`/`_context` on the channel when it transfers; FreeSWITCH
--- notes every transfer in `transfer_source` ("<epoch>:<uuid>:bl_xfer:<destination>/<context>/<dialplans>",
--- switch_ivr_session_transfer) — the last one is what is being routed. (Not `destination_number`: the inline
--- dialplan puts the number dialled before the transfer back there.) Anything else — a blind transfer by the
--- department that took the call (a SIP REFER, a `transfer` in its dialplan) — is not ours.
function M.pending_transfer(session)
  local destination, context = var(session, "voice_ai_transfer_destination"), var(session, "voice_ai_transfer_context")
  if not destination or not context then
    return nil, "the call flow made no transfer on this channel"
  end
  local routing, routing_context = (var(session, "transfer_source") or ""):match(":bl_xfer:([^/]*)/([^/]*)/")
  if routing ~= destination or routing_context ~= context then
    return nil, string.format("the channel is routing %s@%s, not the call flow's transfer to %s@%s", tostring(routing),
      tostring(routing_context), destination, context)
  end
  return destination, context
end

--- Forget the call flow's pending transfer (the no-route guard and script must not react to what follows).
function M.forget_transfer(session)
  for _, suffix in ipairs({ "destination", "context", "pattern" }) do
    session:setVariable("voice_ai_transfer_" .. suffix, nil)
  end
end

--- Apologise and hand the caller to the fallback destination. `reason` goes to FreeSWITCH's log (the session's
--- logger: the line carries the call's uuid). `failed`: "<destination>@<context>" that did not route (the
--- no-route script's case), never tried again.
function M.run(session, reason, failed)
  session:consoleLog("crit", "[voice_ai] " .. tostring(reason) .. "\n")
  if not session:ready() then
    return
  end
  if not session:answered() then
    session:answer()
  end
  local destination = var(session, "voice_ai_fallback_destination")
  local context = var(session, "voice_ai_fallback_context") or var(session, "domain_name") or "default"
  M.forget_transfer(session)
  if not M.valid_target(destination, context) or failed == destination .. "@" .. context then
    session:consoleLog("err", "[voice_ai] no valid voice_ai_fallback_destination left: the call ends after the " ..
      "apology\n")
    session:streamFile(sound(session, "error_goodbye"))
    session:hangup("NORMAL_TEMPORARY_FAILURE")
    return
  end
  session:streamFile(sound(session, "error_transfer"))
  session:consoleLog("notice", "[voice_ai] transfer to " .. destination .. "@" .. context .. " (fallback)\n")
  session:setVariable("force_transfer_dialplan", "XML")
  session:execute("transfer", destination .. " XML " .. context)
end

return M
