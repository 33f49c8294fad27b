--- The last resort when the call flow itself cannot load (a module missing or broken, a bad install): the
--- caller hears the local apology and goes to `voice_ai_fallback_destination` in `voice_ai_fallback_context`
--- (default: domain_name), with FreeSWITCH's own API only — this module requires nothing. Without a fallback
--- destination the caller hears the apology and the call ends (never silence, never a hang-up without a word).
local M = {}

local TONE = "tone_stream://%(500,500,480,620);loops=3"

local function var(session, name)
  local value = session:getVariable(name)
  if value == nil or value == "" or value == "_undef_" then
    return nil
  end
  return value
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

--- Apologise and hand the caller to the fallback destination. `reason` goes to FreeSWITCH's log.
function M.run(session, reason)
  session:consoleLog("crit", "[voice_ai] " .. tostring(reason) .. "\n")
  if not session:ready() then
    return
  end
  if not session:answered() then
    session:answer()
  end
  local destination = var(session, "voice_ai_fallback_destination")
  local context = var(session, "voice_ai_fallback_context") or var(session, "domain_name") or "default"
  local valid = destination and destination:match("^[%w%+%*#][%w%+%*#%._@-]*$") and context:match("^[%w%._@-]+$")
  if not valid then
    session:consoleLog("err", "[voice_ai] no valid voice_ai_fallback_destination: the call ends after the apology\n")
    session:streamFile(sound(session, "error_goodbye"))
    session:hangup("NORMAL_TEMPORARY_FAILURE")
    return
  end
  session:streamFile(sound(session, "error_transfer"))
  session:consoleLog("notice", "[voice_ai] transfer to " .. destination .. "@" .. context .. " (fallback)\n")
  session:execute("transfer", destination .. " XML " .. context)
end

return M
