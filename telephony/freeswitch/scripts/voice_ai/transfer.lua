--- Putting the caller through to a person, in a way that can come back (issue 13; docs/transfers.md).
---
--- Instead of a blind `transfer` (the call leaves the script, and nothing brings it back when nobody answers), the
--- call flow rings the destination itself: `freeswitch.Session("{…}loopback/<destination>/<context>", session)`
--- originates a leg into the same dialplan a transfer would hunt, and returns when somebody answers or the attempt
--- fails. Checked on the real FreeSWITCH 1.10.12 (tests/test_real_freeswitch_transfers.py): the new leg's
--- `hangupCause()` is SUCCESS when answered, else NO_ANSWER (after `originate_timeout`), USER_BUSY,
--- CALL_REJECTED, NO_ROUTE_DESTINATION (no such extension or context), UNALLOCATED_NUMBER…, or NORMAL_CLEARING
--- (a dialplan that ended without answering). `ignore_early_media=true` is needed: without it a destination that
--- only pre-answers (early media) counts as answered. While it rings the caller hears the `ringback` tone, which
--- originate generates for an answered caller.
---
--- An announced transfer plays a line (who is calling and why) to the person who answered, who presses 1 to take
--- the call; any other key, silence or a hang-up declines it (`DECLINED`). The line is played by originate's own
--- group confirm (`group_confirm_key=exec`: voice_ai_announce.lua on the answered leg, `M.confirm`), so the caller
--- is still ringing meanwhile (a phone that rang first keeps the caller's ringback going) and `freeswitch.Session`
--- returns only a leg that took the call. Then `freeswitch.bridge` connects both legs until one hangs up.
---
--- The `bridge` application would not do: when it fails, it hangs up the caller (unless continue_on_fail).
---
--- Like every module here, FreeSWITCH's objects come in as parameters.
local M = {}

M.DEFAULT_RING = 30
M.MIN_RING = 5
M.MAX_RING = 120
M.RINGBACK = "%(1000,4000,425)" -- Brazil's ring tone: 425 Hz, 1 s on, 4 s off
M.ACCEPT_KEY = "1"
M.ANSWER_WAIT_MS = 5000 -- after each play of the announcement
M.ANNOUNCE_SCRIPT = "voice_ai_announce.lua"
M.CONFIRM_FALLBACK = 60 -- seconds for the announcement when the line's length cannot be read
local PLAIN_PATH = "^/[%w%._/%-]+$" -- one token of the lua app's arguments: no space, comma or brace

--- A value for a dial string's `{name=value,…}`: nothing that would end the value or the block, no quote or `$`.
local function dial_value(value)
  if type(value) ~= "string" then
    return nil
  end
  local clean = value:gsub("[,{}%[%]'\"`$\\^|<>%c]", ""):sub(1, 80)
  return clean ~= "" and clean or nil
end
M.dial_value = dial_value

--- How long an answered announced transfer may take: the line (its WAV header read) twice, each followed by the wait
--- for the key, and a margin; CONFIRM_FALLBACK when the file cannot be read as a WAV.
function M.confirm_seconds(path)
  local f = io.open(path, "rb")
  local head = f and f:read(44)
  local size = f and f:seek("end")
  if f then
    f:close()
  end
  if not head or #head < 44 or head:sub(1, 4) ~= "RIFF" or head:sub(9, 12) ~= "WAVE" then
    return M.CONFIRM_FALLBACK
  end
  local byte_rate = string.unpack("<I4", head, 29)
  if byte_rate == 0 then
    return M.CONFIRM_FALLBACK
  end
  local line = (size - 44) / byte_rate
  return math.floor(2 * (line + M.ANSWER_WAIT_MS / 1000)) + 5
end

--- The dial string of an attempt: `{originate_timeout=…,ignore_early_media=true,…}loopback/<dest>/<context>`.
--- `opts`: ring_seconds (bounded), caller_id_number, caller_id_name (what the department's phone shows),
--- domain_uuid, domain_name, call_uuid (`voice_ai_call_uuid` on the new leg: the department's dialplan and CDRs
--- can tie it to the conversation; the caller's channel, which voice_ai_announce.lua marks). `destination` and
--- `context` must already be plain dialplan tokens. `opts.announcement` (a local WAV) and `opts.scripts_dir` make
--- it announced: the leg rings `ring` s (`[leg_timeout]`); once answered, originate's group confirm runs
--- voice_ai_announce.lua on it with `confirm_seconds` more (`group_confirm_timeout`); `originate_timeout` bounds
--- the whole. Returns the dial string, the ring time and whether it is announced.
function M.dial_string(destination, context, opts)
  local ring = math.floor(math.max(M.MIN_RING, math.min(M.MAX_RING, tonumber(opts.ring_seconds) or M.DEFAULT_RING)))
  local vars = {
    "originate_timeout=" .. ring,
    "ignore_early_media=true",
  }
  local leg = ""
  local line, caller = opts.announcement, opts.call_uuid
  local announced = type(line) == "string" and line:match(PLAIN_PATH) ~= nil and type(caller) == "string" and
    caller:match("^[%w%-]+$") ~= nil
  if announced then
    local script = M.ANNOUNCE_SCRIPT
    if type(opts.scripts_dir) == "string" and opts.scripts_dir:match(PLAIN_PATH) then
      script = opts.scripts_dir .. "/" .. script
    end
    local confirm = M.confirm_seconds(line)
    vars[1] = "originate_timeout=" .. (ring + confirm)
    vars[#vars + 1] = "group_confirm_key=exec"
    vars[#vars + 1] = "group_confirm_file=lua " .. script .. " " .. line .. " " .. caller
    vars[#vars + 1] = "group_confirm_timeout=" .. confirm
    leg = "[leg_timeout=" .. ring .. "]"
  end
  local extra = {
    { "origination_caller_id_number", opts.caller_id_number },
    { "origination_caller_id_name", opts.caller_id_name },
    { "domain_uuid", opts.domain_uuid },
    { "domain_name", opts.domain_name },
    { "voice_ai_call_uuid", opts.call_uuid },
  }
  for _, pair in ipairs(extra) do
    local value = dial_value(pair[2])
    if value then
      vars[#vars + 1] = pair[1] .. "=" .. value
    end
  end
  return "{" .. table.concat(vars, ",") .. "}" .. leg .. "loopback/" .. destination .. "/" .. context, ring, announced
end

--- Ring the destination. Returns the answered leg, or nil and FreeSWITCH's cause.
function M.ring(fs, session, dial)
  if not session:getVariable("ringback") or session:getVariable("ringback") == "" then
    session:setVariable("ringback", M.RINGBACK)
  end
  local other = fs.Session(dial, session)
  if other and other:ready() and other:answered() then
    return other
  end
  local cause = other and other:hangupCause() or nil
  if other and other:ready() then -- up without an answer: never left ringing
    other:hangup("NORMAL_CLEARING")
  end
  if cause == nil or cause == "" or cause == "SUCCESS" or cause == "NONE" then
    cause = "NO_ANSWER"
  end
  return nil, cause
end

--- Play the announcement at `path` to the person who answered (twice at most) and wait for the key. Returns true
--- when they pressed 1; otherwise hangs their leg up and returns false.
function M.announce(other, path)
  local digits = other:playAndGetDigits(1, 1, 2, M.ANSWER_WAIT_MS, "", path, "", "^" .. M.ACCEPT_KEY .. "$")
  if digits == M.ACCEPT_KEY and other:ready() then
    return true
  end
  if other:ready() then
    other:hangup("CALL_REJECTED")
  end
  return false
end

--- An announced transfer, either flow's (voice_ai_announce.lua, run by originate's group confirm on the answered
--- leg `other`): the line at `path`, then the key as in `announce`. First the caller's channel (`caller_uuid`) gets
--- `voice_ai_announce=answered`: whatever ends the attempt from then on (another key, silence, the person hanging
--- up) is a decline, and the call flow reads it when the attempt fails (DECLINED). Without a readable line
--- (not a plain absolute file name, or no such file) it returns at once: the call is connected unannounced, never
--- lost. Returns true when the person took the call.
function M.confirm(other, api, path, caller_uuid)
  local readable = type(path) == "string" and path:match(PLAIN_PATH) ~= nil and io.open(path, "rb")
  if not readable then
    other:consoleLog("warning", "[voice_ai] announced transfer: no announcement file (" .. tostring(path) ..
      "): connecting unannounced\n")
    return true
  end
  readable:close()
  if type(caller_uuid) == "string" and caller_uuid:match("^[%w%-]+$") then
    api:execute("uuid_setvar", caller_uuid .. " voice_ai_announce answered")
  end
  return M.announce(other, path)
end

return M
