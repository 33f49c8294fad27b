--- The call flow of the AI secretary (the seed's steps 1–8) for one FreeSWITCH channel:
---
---   answer → POST /api/v1/calls → greeting → loop { record_session with end-of-speech detection →
---   POST …/turns → play the reply → continue | transfer | hangup } → POST …/end with the outcome.
---
--- A transfer names an inline fallback dialplan after XML (`transfer <dest> XML,inline:lua:<no-route script>
--- <context>`): when XML finds no extension for it — or, on a plain FreeSWITCH, when only `continue="true"`
--- extensions matched and the `voice_ai_no_route` guard at the end of the context caught it — FreeSWITCH runs
--- voice_ai_no_route.lua on the same channel, which tells the service (`transfer_failed`, then a second /end with
--- the truth) and sends the caller to the operator — see `M.resume` and `Call:recover_transfer`.
---
--- Keys are handled here, never by the model (see voice_ai.dtmf). Whatever fails — the service unreachable,
--- too slow, answering 5xx or garbage — the caller hears a short apology from local sound files and is
--- transferred to the operator: a call is never dropped in silence.
---
--- Nothing here is global: `session` and the `freeswitch` table come in as parameters. mod_lua can only call
--- hooks by global name, so the entry script (secretary_ai.lua) defines the two globals and forwards to
--- `Call:on_input` and `Call:on_hangup`.
local config = require("voice_ai.config")
local dtmf = require("voice_ai.dtmf")
local http = require("voice_ai.http")
local logger = require("voice_ai.log")
local transfer = require("voice_ai.transfer")

local M = {}

local Call = {}
Call.__index = Call

local ACTIONS = { continue = true, transfer = true, hangup = true }
local AUDIO_TIMEOUT = 4 -- seconds to fetch a reply's audio: the caller is waiting in silence
local TONE = "tone_stream://%(500,500,480,620);loops=3" -- when even the local sounds are missing
local LANGUAGES = { pt = "pt-BR", ["pt-br"] = "pt-BR", en = "en-US", ["en-us"] = "en-US", ["en-gb"] = "en-US" }
local MAX_REPEATS = 3
local CAPTURE_TURNS = 13 -- turns the service may run past max_turns while it takes a message (see converse)
local POLL_MS = 50 -- how often the recording loop looks at the recording (a key ends the wait at once)
local NO_ROUTE_SCRIPT = "voice_ai_no_route.lua"
local MAX_TRANSFER_ATTEMPTS = 2 -- the rule's destination, then the operator; never a loop
-- record_session's flags for one utterance: only what the caller says (read), mono, a new file; channel
-- variables of the same names (e.g. a PBX's call-recording settings) must not change it
local RECORD_FLAGS = "RECORD_READ_ONLY=true,RECORD_WRITE_ONLY=false,RECORD_STEREO=false,RECORD_STEREO_SWAP=false," ..
  "RECORD_APPEND=false,RECORD_ANSWER_REQ=false,RECORD_BRIDGE_REQ=false,RECORD_CHECK_BRIDGE=false," ..
  "RECORD_TOGGLE_ON_REPEAT=false,RECORD_HANGUP_ON_ERROR=false,RECORD_MIN_SEC=0,RECORD_PRE_BUFFER_FRAMES=0"

local function file_exists(path)
  local handle = io.open(path, "rb")
  if handle then
    handle:close()
    return true
  end
  return false
end

local function read_file(path)
  local handle = io.open(path, "rb")
  if not handle then
    return nil
  end
  local data = handle:read("*a")
  handle:close()
  return data
end

local function normalize_language(language)
  if type(language) ~= "string" then
    return nil
  end
  return LANGUAGES[language:lower()] or language
end

-- A dialplan token: transfer data is "<destination> XML <context>", so a space (or anything odd) in either
-- would change what FreeSWITCH does, and a leading "-" is a flag of the transfer app (-bleg, -both). The
-- service only sends configured rules; this is the last guard.
local function safe_destination(value)
  return type(value) == "string" and value:match("^[%w%+%*#][%w%+%*#%._@-]*$") ~= nil and #value <= 64
end

-- Text for the service: valid UTF-8 (invalid bytes become "?"; without Lua 5.3's utf8, ASCII only), at most
-- `max` characters, never cut inside a character.
local function clean_text(value, max)
  if type(value) ~= "string" or value == "" then
    return nil
  end
  local text = value
  if utf8 and utf8.len then
    local parts, i = {}, 1
    while i <= #text do
      local ok_len, bad = utf8.len(text, i)
      if ok_len then
        parts[#parts + 1] = text:sub(i)
        break
      end
      parts[#parts + 1] = text:sub(i, bad - 1) .. "?"
      i = bad + 1
    end
    text = table.concat(parts)
    if utf8.len(text) > max then
      text = text:sub(1, utf8.offset(text, max + 1) - 1)
    end
  else
    text = text:gsub("[\128-\255]", "?"):sub(1, max)
  end
  return text
end

local function clean_number(value)
  if type(value) ~= "string" then
    return nil
  end
  local number = value:gsub("[^%w%+%*#]", ""):sub(1, 64)
  return number ~= "" and number or nil
end

local function clamp(value, default, min, max)
  local n = tonumber(value)
  if not n then
    return default
  end
  return math.floor(math.max(min, math.min(max, n)))
end

local function safe_context(value)
  return type(value) == "string" and value:match("^[%w%._@-]+$") ~= nil and #value <= 128
end

--- A call. `fs` is the `freeswitch` table; `argv` the script arguments; `opts`: scripts_dir; (tests) client, log.
function M.new(session, fs, argv, opts)
  opts = opts or {}
  local cfg = config.load(session, argv)
  local self = setmetatable({
    session = session,
    fs = fs,
    cfg = cfg,
    log = opts.log or logger.new(session, fs, cfg.call_uuid),
    keys = dtmf.new(),
    phase = nil,
    started = nil, -- the service's answer to POST /calls
    ended = false, -- /end sent (or the service ended the call itself)
    outcome = nil,
    turns = 0,
    last_reply = nil, -- local file of the last thing said (for *)
    temp_files = {},
    transfer_attempts = 0,
    scripts_dir = opts.scripts_dir, -- where the entry scripts are (for the no-route script's absolute path)
  }, Call)
  self.client = opts.client or http.new(cfg.url, {
    token = cfg.token, connect_timeout = cfg.connect_timeout, timeout = cfg.timeout,
  })
  self.language = normalize_language(cfg.language) or "pt-BR"
  return self
end

-- Hooks (called by the entry script's globals) ------------------------------------------------------------

--- The input callback: "dtmf" with {digit=...}; returns FreeSWITCH's "break" or nil.
function Call:on_input(kind, input)
  if kind ~= "dtmf" or type(input) ~= "table" or not input.digit then
    return nil
  end
  self.log:info("key %s during %s", tostring(input.digit), tostring(self.phase))
  return self.keys:on_digit(tostring(input.digit), self.phase == "record" and "record" or "playback")
end

--- The hangup hook: "hangup" when the channel hangs up, "transfer" when it leaves for the dialplan.
function Call:on_hangup(how)
  -- FreeSWITCH runs the hook inside the script's own hangup() too: only a hangup we did not start counts
  if how ~= "hangup" or self.ended or self.closing then
    return nil
  end
  -- the phase stays what it was until the next step begins: a hangup that stopped a playback is reported
  -- as "during playback" even when FreeSWITCH runs this hook after streamFile returned
  self.log:notice("caller hung up%s", self.phase and (" during " .. self.phase) or "")
  self.outcome = self.turns > 0 and "hangup" or "abandoned"
  if self.started then
    self.ended = true
    self:post_event("caller_hangup", { detail = self.phase and ("during " .. self.phase) or nil })
  end
  return nil
end

-- Service calls ----------------------------------------------------------------------------------------

function Call:path(suffix)
  return "/api/v1/calls/" .. self.cfg.call_uuid .. suffix
end

-- After a connect error or a timeout the service is presumed down: no more waiting on it for bookkeeping.
function Call:note_failure(err)
  if err and (err.kind == "connect" or err.kind == "timeout") then
    self.service_down = true
  end
end

function Call:post_event(event, extra)
  if self.service_down then
    return
  end
  local payload = { domain_uuid = self.cfg.domain_uuid, event = event }
  for k, v in pairs(extra or {}) do
    payload[k] = v
  end
  local _, err = self.client:post_json(self:path("/events"), payload, math.min(self.cfg.timeout, 3))
  if err then
    self:note_failure(err)
    self.log:warning("event %s not stored: %s", event, err.message)
  end
end

--- POST /end. `destination`/`context`: where the caller really went when the script transferred the call —
--- the department, or the operator (key 0, every fall-back: outcome `error` included).
function Call:post_end(outcome, destination, context)
  self.ended = true
  self.outcome = outcome
  if not self.started then
    return
  end
  -- the script reports the end right before a transfer takes effect (when it returns): keep it short then;
  -- after a hangup nobody waits, and a busy service gets the usual timeout
  local timeout = self.cfg.timeout
  if self.service_down then
    timeout = 1
  elseif self.session:ready() or self.phase == "transfer" then
    timeout = math.min(timeout, 2)
  end
  local answer, err = self.client:post_json(self:path("/end"), {
    domain_uuid = self.cfg.domain_uuid, outcome = outcome,
    destination = destination, context = context,
  }, timeout)
  if err then
    self.log:warning("end (%s) not stored: %s", outcome, err.message)
  else
    self.log:info("call ended: %s", tostring(answer.outcome))
  end
end

-- Media -------------------------------------------------------------------------------------------------

function Call:temp_path(kind)
  local path = string.format("%s/voice_ai_%s_%s_%d.wav", self.cfg.tmp_dir, self.cfg.call_uuid, kind, self.turns)
  self.temp_files[path] = true
  return path
end

function Call:local_sound(name)
  for _, path in ipairs(config.sound(self.cfg, name, self.language)) do
    if file_exists(path) then
      return path
    end
  end
  self.log:err("local sound %s is missing under %s (run: voice-ai freeswitch install)", name, self.cfg.sounds_dir)
  return TONE
end

--- Play a file; keys may interrupt it. Returns false when the channel is gone.
function Call:play(path)
  if not path or not self.session:ready() then
    return self.session:ready()
  end
  self.phase = "playback"
  self.session:streamFile(path)
  return self.session:ready()
end

function Call:play_local(name)
  return self:play(self:local_sound(name))
end

--- Fetch the service's audio into a temp file; returns its path or nil.
function Call:fetch_audio(url, kind)
  if type(url) ~= "string" or url == "" then
    return nil
  end
  local path = self:temp_path(kind)
  local ok, err = self.client:download(url, path, math.min(self.cfg.timeout, AUDIO_TIMEOUT))
  if not ok then
    self:note_failure(err)
    self.log:warning("audio %s not fetched: %s", url, err.message)
    return nil
  end
  return path
end

--- Play what the secretary says (the fetched reply, else a local sound) and honour * (repeat). Returns the
--- caller's key request left after playing ("operator", "interrupt" or nil) and whether the channel is up.
function Call:say(path, fallback_sound)
  local file = path or self:local_sound(fallback_sound)
  if path then
    if self.last_reply and self.last_reply ~= path then
      self:forget(self.last_reply)
    end
    self.last_reply = path
  end
  local up = self:play(file)
  for _ = 1, MAX_REPEATS do
    local request = self.keys:take()
    if request ~= "repeat" or not up then
      return request, up
    end
    up = self:play(file)
  end
  return self.keys:take(), up
end

function Call:forget(path)
  if path and self.temp_files[path] then
    os.remove(path)
    self.temp_files[path] = nil
  end
end

function Call:cleanup()
  for path in pairs(self.temp_files) do
    if not (self.cfg.keep_recordings and path:match("_rec_%d+%.wav$")) then
      os.remove(path)
    end
  end
  self.temp_files = {}
end

-- Endings -----------------------------------------------------------------------------------------------

--- The dialplans a transfer hunts: XML, then (only when XML has no extension for it) our no-route script, by
--- absolute path when we know where we are installed and the path is a plain dialplan token.
function Call:transfer_dialplans()
  local script = NO_ROUTE_SCRIPT
  if self.scripts_dir and self.scripts_dir:match("^/[%w%._/-]*$") then
    script = self.scripts_dir .. "/" .. NO_ROUTE_SCRIPT
  end
  return "XML,inline:lua:" .. script
end

--- A regular expression that matches `value` and nothing else (PCRE: a backslash before a character that is not
--- a letter or digit makes it literal). The plain-FreeSWITCH guard matches `^${voice_ai_transfer_pattern}$`.
local function literal_pattern(value)
  return (value:gsub("%W", "\\%0"))
end

--- What the no-route script needs to carry on, kept on the channel (the script's Lua state ends with it). Every
--- name is set, unset ones to nil: a value left by an earlier pass on the same channel must not survive.
function Call:remember_transfer(destination, context, outcome)
  local s = self.started or {}
  local operator, operator_context = self:operator()
  local vars = {
    { "voice_ai_transfer_destination", destination },
    { "voice_ai_transfer_context", context },
    { "voice_ai_transfer_pattern", literal_pattern(destination) },
    { "voice_ai_transfer_outcome", outcome },
    { "voice_ai_transfer_attempts", tostring(self.transfer_attempts) },
    { "voice_ai_call_language", self.language },
    { "voice_ai_call_started", self.started and "true" or "false" },
    { "voice_ai_call_turns", tostring(self.turns) },
    { "voice_ai_operator_destination", operator },
    { "voice_ai_operator_context", operator_context },
    { "voice_ai_conversation_uuid", s.conversation_uuid },
    { "voice_ai_service_down", self.service_down and "true" or nil },
  }
  for _, pair in ipairs(vars) do
    self.session:setVariable(pair[1], pair[2])
  end
end

--- Send the caller to `destination` in `context` (the dialplan takes over when the script returns).
function Call:transfer(destination, context, outcome, why)
  if not self.session:ready() then
    return
  end
  self.log:notice("transfer to %s@%s (%s)", destination, context, why)
  self.closing = true
  self.phase = "transfer"
  self.transfer_attempts = (self.transfer_attempts or 0) + 1
  self:remember_transfer(destination, context, outcome)
  -- whoever takes the call may transfer it again naming no dialplan (a SIP REFER from the department's phone,
  -- `transfer 2099` in a dialplan): FreeSWITCH would reuse ours, and our no-route script would run on a call
  -- that is no longer ours. force_transfer_dialplan applies only to transfers that name no dialplan.
  self.session:setVariable("force_transfer_dialplan", "XML")
  self.session:execute("transfer", destination .. " " .. self:transfer_dialplans() .. " " .. context)
  if self.session:ready() then
    -- the transfer did not happen (FreeSWITCH refused it): never leave the caller to the auto hangup
    self.closing = false
    self.log:err("transfer to %s@%s did not happen", destination, context)
    local fallback, fallback_context = self:operator()
    if fallback and (fallback ~= destination or fallback_context ~= context) and not self.retried then
      self.retried = true
      return self:transfer(fallback, fallback_context, outcome == "transferred" and "transferred" or "error",
        "fallback after a failed transfer")
    end
    return self:goodbye("error", "error_goodbye")
  end
  self:post_end(outcome, destination, context)
end

--- Put the caller through to the department (or the operator) a turn chose, in a way that comes back
--- (voice_ai.transfer, docs/transfers.md): ring it for the rule's time; when somebody answers (and, for an
--- announced transfer, presses 1) report the end and connect both; when nobody does, the caller is back with the
--- secretary, who says what happened. Returns true when the call left the flow (connected, or gone).
function Call:put_through(t)
  local destination, context = t.destination, t.context
  local announcement
  if t.announce == true then
    announcement = self:fetch_announcement()
  end
  local cfg = self.cfg
  local dial, ring, announced = transfer.dial_string(destination, context, {
    ring_seconds = t.ring_seconds, caller_id_number = clean_number(cfg.caller_id_number),
    caller_id_name = clean_text(cfg.caller_id_name, 80), domain_uuid = cfg.domain_uuid,
    domain_name = cfg.domain_name, call_uuid = cfg.call_uuid, announcement = announcement,
    scripts_dir = self.scripts_dir,
  })
  self.log:notice("ringing %s@%s for %d s%s (%s)", destination, context, ring,
    announced and ", announced" or "", t.department and ("department " .. tostring(t.department)) or "operator")
  self.phase = "ringing"
  if announced then -- voice_ai_announce.lua marks it "answered" when the person hears the line
    self.session:setVariable("voice_ai_announce", "ringing")
  end
  local began = self.client:now()
  local other, cause = transfer.ring(self.fs, self.session, dial)
  if not other and announced and self.session:getVariable("voice_ai_announce") == "answered" then
    cause = "DECLINED" -- the person heard who was calling and did not press 1
  end
  if not other then
    -- a caller who hangs up while it rings ends the attempt too, and FreeSWITCH reports it as NO_ANSWER (or
    -- ORIGINATOR_CANCEL) before the caller's channel is down (seen on the real FreeSWITCH 1.10.12: ~50 ms later).
    -- That is no failed transfer to report: give the channel a moment when the attempt ended before its time.
    local early = cause == "ORIGINATOR_CANCEL" or (cause == "NO_ANSWER" and self.client:now() - began < ring - 1)
    for _ = 1, early and 40 or 2 do
      if not self.session:ready() then
        return true -- the hangup hook reports it (during ringing)
      end
      self.fs.msleep(50)
    end
  end
  if not self.session:ready() then
    if other and other:ready() then -- the caller left as the person took the call
      other:hangup("ORIGINATOR_CANCEL")
    end
    return true
  end
  if other then
    self.log:notice("%s@%s answered: connecting the caller", destination, context)
    self.closing = true
    self.phase = "bridge"
    self:post_end("transferred", destination, context)
    self.fs.bridge(self.session, other)
    if self.session:ready() then -- the person hung up first: the call is over
      self.session:hangup("NORMAL_CLEARING")
    end
    return true
  end
  return self:came_back(destination, context, cause)
end

--- The announcement for an announced transfer (a local file), or nil: then the transfer goes on unannounced.
function Call:fetch_announcement()
  local answer, err = self.client:post_json(self:path("/announcement"), { domain_uuid = self.cfg.domain_uuid },
    math.min(self.cfg.turn_timeout, 8))
  if not answer then
    self:note_failure(err)
    self.log:warning("no announcement (%s): the transfer goes on unannounced", err.message)
    return nil
  end
  return self:fetch_audio(answer.audio_url, "announce")
end

--- Nobody took the call: the service notes why and says so (ending with the offer of a message); the call goes on.
--- Returns true when the call left the flow meanwhile. A service that cannot answer hands the caller to a person
--- (the operator) — unless the operator is who did not answer: then the apology and the end.
function Call:came_back(destination, context, cause)
  cause = type(cause) == "string" and cause:match("^[A-Z_]+$") and cause:sub(1, 64) or "NO_ANSWER"
  self.log:notice("%s@%s did not take the call (%s): back to the secretary", destination, context, cause)
  self.phase = "service"
  local answer, err = self.client:post_json(self:path("/transfer-failed"), {
    domain_uuid = self.cfg.domain_uuid, destination = destination, context = context, cause = cause,
  }, self.cfg.turn_timeout)
  if not self.session:ready() then
    return true
  end
  local reply = answer and self:fetch_audio(answer.audio_url, "back")
  if not reply then
    local operator, operator_context = self:operator()
    if operator == destination and operator_context == context then
      self.log:err("the operator did not answer and the service cannot take the caller back: the call ends")
      self:goodbye("error", "error_goodbye")
      return true
    end
    self:fail_over("transfer", err or { kind = "tts", message = "no audio for the failed transfer" })
    return true
  end
  return self:say_or_leave(reply, "goodbye")
end

function Call:goodbye(outcome, sound)
  if sound then
    self:play_local(sound)
  end
  self.closing = true
  if self.session:ready() then
    self.session:hangup("NORMAL_CLEARING")
  end
  self:post_end(outcome)
end

function Call:operator()
  local s = self.started or {}
  local destination = s.operator_destination or self.cfg.fallback_destination
  local context = s.operator_context or self.cfg.fallback_context
  if safe_destination(destination) and safe_context(context) then
    return destination, context
  end
  return nil
end

--- The caller asked for a person (key 0). Returns true when the call left the flow; false when the operator did
--- not take the call and the caller is back with the secretary (a transfer that comes back, as for a department,
--- while the service is up: without it the secretary has nothing to come back to, and the transfer is one-way).
function Call:to_operator()
  local destination, context = self:operator()
  if not destination then
    self.log:err("no operator destination: set one on the secretary or voice_ai_fallback_destination")
    self:post_event("dtmf", { digits = "0" })
    self:goodbye("error", "error_goodbye")
    return true
  end
  self:play_local("transferring")
  self:post_event("dtmf", { digits = "0" })
  if self.cfg.transfer_mode == "bridge" and self.started and not self.service_down then
    return self:put_through({ destination = destination, context = context })
  end
  self:transfer(destination, context, "transferred", "caller pressed 0")
  return true
end

--- Something failed: apologise from local sounds and hand the call to a person.
function Call:fail_over(stage, err)
  self.log:err("%s failed (%s): %s", stage, err and err.kind or "?", err and err.message or "?")
  self:note_failure(err)
  if self.session:ready() and not self.session:answered() then
    self.session:answer()
  end
  local destination, context = self:operator()
  if not destination then
    self.log:err("no operator destination to fall back to (set voice_ai_fallback_destination)")
    return self:goodbye("error", "error_goodbye")
  end
  self:play_local("error_transfer")
  if self.started then
    self:post_event("note", { detail = clean_text(stage .. " failed: " .. tostring(err and err.message), 480) })
  end
  self:transfer(destination, context, "error", stage .. " failed")
end

-- The flow ----------------------------------------------------------------------------------------------

function Call:start()
  local cfg = self.cfg
  local answer, err = self.client:post_json("/api/v1/calls", {
    domain_uuid = cfg.domain_uuid,
    secretary = cfg.secretary,
    call_uuid = cfg.call_uuid,
    caller_id_number = clean_number(cfg.caller_id_number),
    caller_id_name = clean_text(cfg.caller_id_name, 200),
    destination_number = clean_number(cfg.destination_number),
  }, cfg.timeout)
  if not answer then
    return nil, err
  end
  if type(answer.conversation_uuid) ~= "string" then
    return nil, { kind = "json", message = "the start answer has no conversation_uuid" }
  end
  self.started = answer
  self.language = normalize_language(answer.language) or self.language
  self.log:info("conversation %s, secretary %s, language %s", answer.conversation_uuid,
    tostring(answer.secretary_uuid), self.language)
  return answer
end

--- Record one utterance. Returns its path and how the recording ended: FreeSWITCH's completion cause
--- ("success-silence" after speech, "no-input-timeout" when the caller never spoke, "success-maxtime",
--- "uri-failure" when FreeSWITCH could not open the file), "key" or "deadline".
---
--- End-of-speech detection waits for speech to start: record_session's media bug counts
--- RECORD_INITIAL_TIMEOUT_MS of silence before any speech (a caller who takes a moment after a prompt is not
--- cut off) and RECORD_FINAL_TIMEOUT_MS after it (the secretary's silence_seconds). recordFile cannot: it
--- counts silence from the first frame. The script waits in short sleeps, which deliver keys to the input
--- callback, until the bug reports a completion cause.
function Call:record()
  local s, session = self.started, self.session
  local path = self:temp_path("rec")
  -- bounded whatever the service says: 0 would mean no time limit or no silence detection
  local max_seconds = clamp(s.max_record_seconds, 15, 2, 120)
  local settings = string.format("RECORD_INITIAL_TIMEOUT_MS=%d,RECORD_FINAL_TIMEOUT_MS=%d,RECORD_SILENCE_THRESHOLD=%d",
    math.floor(math.min(self.cfg.speech_timeout, max_seconds) * 1000), clamp(s.silence_seconds, 2, 1, 10) * 1000,
    clamp(s.silence_threshold, 300, 20, 5000))
  self.phase = "record"
  self.keys:take_stop()
  session:setVariable("record_completion_cause", nil)
  session:execute("record_session", string.format("%s +%d {%s,%s}", path, max_seconds, RECORD_FLAGS, settings))
  -- FreeSWITCH stops the bug at the time limit itself; this guards against a bug that never reports
  local deadline = self.client:now() + max_seconds + 2
  local cause
  while session:ready() do
    session:sleep(POLL_MS)
    cause = session:getVariable("record_completion_cause")
    if cause ~= nil and cause ~= "" then
      break
    elseif self.keys:take_stop() then
      cause = "key"
      break
    elseif self.client:now() > deadline then
      cause = "deadline"
      self.log:warning("the recording did not stop by itself after %d s", max_seconds)
      break
    end
  end
  if session:ready() then
    session:execute("stop_record_session", path)
  end
  return path, cause
end

--- POST one turn with the recording at `path`; returns the service's answer. A turn in which the caller
--- never spoke (`how` = "no-input-timeout", or an empty recording: FreeSWITCH writes a bare 44-byte WAV when
--- no frame arrived) is posted as `text=""`: a silent turn, which the service answers with "pode repetir?".
function Call:send_turn(path, how)
  local cfg = self.cfg
  local fields = { domain_uuid = cfg.domain_uuid }
  local file
  local data = read_file(path)
  if how == "no-input-timeout" or not data or #data <= 44 then
    fields.text = "" -- a silent turn: no audio worth transcribing
  elseif cfg.audio_path then
    fields.audio_path = path
  else
    file = { name = "audio", filename = "turn.wav", content_type = "audio/wav", data = data }
  end
  local answer, err = self.client:post_form(self:path("/turns"), fields, file, cfg.turn_timeout)
  if not answer then
    return nil, err
  end
  if not ACTIONS[answer.action] then
    return nil, { kind = "json", message = "unknown action " .. tostring(answer.action) }
  end
  if answer.action == "transfer" then
    local t = answer.transfer
    if type(t) ~= "table" or not safe_destination(t.destination) or not safe_context(t.context) then
      return nil, { kind = "json", message = "transfer without a valid destination" }
    end
  end
  return answer
end

--- Handle a key request; returns true when the call left the flow.
function Call:honour(request)
  if request == "operator" then
    return self:to_operator()
  end
  return false
end

--- Say something; true when the call left the flow meanwhile (the caller hung up, or pressed 0).
function Call:say_or_leave(path, fallback_sound)
  local request, up = self:say(path, fallback_sound)
  return not up or self:honour(request)
end

function Call:converse()
  local s = self.started
  local max_turns = math.floor(tonumber(s.max_turns) or 10)
  if self:say_or_leave(self:fetch_audio(s.greeting_audio_url, "greeting"), "greeting") then
    return
  end
  while self.session:ready() do
    -- the service ends the call at max_turns (or, while it takes a message, at the turn that stores it: at most
    -- CAPTURE_TURNS later — voice_ai.conversation.message_taking.MAX_CAPTURE_TURNS); this guards against a loop
    if self.turns >= max_turns + CAPTURE_TURNS + 1 then
      self.log:warning("the service did not end the call after %d turns", self.turns)
      return self:goodbye("resolved", "goodbye")
    end
    self.turns = self.turns + 1
    local path, how = self:record()
    if not self.session:ready() then
      return
    end
    if how == "uri-failure" then
      -- FreeSWITCH could not write the recording (RECORD_HANGUP_ON_ERROR=false keeps the call up): every turn
      -- would be silent — a configuration problem, for a person to take the call
      return self:fail_over("configuration", { kind = "config",
        message = "FreeSWITCH cannot write " .. path .. " (voice_ai_tmp_dir / temp_dir: permissions, disk)" })
    end
    local request = self.keys:take()
    local digits = self.keys:drain()
    if request == "operator" then
      self.turns = self.turns - 1 -- nothing reached the service: the recording is dropped
      self:forget(path)
      if self:to_operator() then
        return
      end
      -- the operator did not take the call: the caller answers the secretary's offer next
    elseif request == "repeat" then
      self.turns = self.turns - 1
      if self:say_or_leave(self.last_reply, "greeting") then
        return
      end
    else
      if digits ~= "" and digits ~= "#" then
        self:post_event("dtmf", { digits = digits:gsub("[^%d%*#A-D]", ""):sub(1, 32) })
      end
      local started_at = self.client:now()
      self.phase = "service"
      local answer, err = self:send_turn(path, how)
      if not self.cfg.keep_recordings then
        self:forget(path)
      end
      if not self.session:ready() then
        return -- the caller left while the service was working (the hangup hook reported it)
      end
      if not answer then
        if err and err.status == 409 then -- the service already ended the call
          return self:goodbye("resolved", "goodbye")
        end
        return self:fail_over("turn", err)
      end
      local timings = type(answer.timings) == "table" and answer.timings or {}
      self.log:info("turn %d (%s): %q → %s (service %.0f ms, round trip %.0f ms)", self.turns, tostring(how),
        tostring(answer.transcript), answer.action, tonumber(timings.total_ms) or -1,
        (self.client:now() - started_at) * 1000)
      local reply = self:fetch_audio(answer.audio_url, "reply")
      if not reply and answer.action == "continue" then
        -- the service could not speak: the caller would be talking to silence
        return self:fail_over("speech", { kind = "tts", message = "no audio for the reply" })
      end
      if self:say_or_leave(reply, answer.action == "transfer" and "transferring" or "goodbye") then
        return
      end
      if answer.action == "transfer" then
        local t = answer.transfer
        if self.cfg.transfer_mode == "blind" then
          return self:transfer(t.destination, t.context, "transferred", "department " .. tostring(t.department))
        end
        if self:put_through(t) then
          return
        end
        -- back with the secretary, who offered a message or another department: the caller answers next turn
      elseif answer.action == "hangup" then
        return self:goodbye("resolved")
      end
    end
  end
end

--- Run the whole call. `input_hook` and `hangup_hook` are the global names the entry script registered.
function Call:run(input_hook, hangup_hook)
  local session, cfg = self.session, self.cfg
  session:setHangupHook(hangup_hook)
  session:setInputCallback(input_hook, "")
  -- recordings and fetched replies go there: an unwritable folder would make every turn silent (record_session
  -- reports uri-failure) and every reply unplayable — check it before anything else
  local probe = string.format("%s/voice_ai_%s_probe", cfg.tmp_dir, cfg.call_uuid)
  local handle = io.open(probe, "wb")
  if handle then
    handle:close()
    os.remove(probe)
  else
    cfg.problems[#cfg.problems + 1] = "cannot write to " .. cfg.tmp_dir .. " (voice_ai_tmp_dir / temp_dir)"
  end
  self.log:info("call from %s to secretary %s (domain %s)", tostring(cfg.caller_id_number), tostring(cfg.secretary),
    tostring(cfg.domain_name or cfg.domain_uuid))
  local ok, err = pcall(function()
    if #cfg.problems > 0 then
      for _, problem in ipairs(cfg.problems) do
        self.log:err("configuration: %s", problem)
      end
      return self:fail_over("configuration", { kind = "config", message = table.concat(cfg.problems, "; ") })
    end
    -- the call is started while it still rings (ringback, not silence, while the service prepares it)
    local started, start_err = self:start()
    if not started then
      return self:fail_over("start", start_err)
    end
    if not session:ready() then
      return -- the caller gave up while it rang
    end
    if not session:answered() then
      session:answer()
    end
    return self:converse()
  end)
  if not ok then
    -- a bug must not drop the caller either
    self.log:crit("call flow error: %s", tostring(err))
    if not self.ended then
      pcall(self.fail_over, self, "script", { kind = "lua", message = tostring(err) })
    end
  end
  session:ready() -- lets a pending hangup hook run
  if self.started and not self.ended then
    self:post_end(self.outcome or (self.turns > 0 and "hangup" or "abandoned"))
  end
  self:cleanup()
end

-- A transfer that did not route -------------------------------------------------------------------------

local function channel_var(session, name)
  local value = session:getVariable(name)
  if value == nil or value == "" or value == "_undef_" then
    return nil
  end
  return value
end

--- The call again, on a channel whose transfer found no extension: FreeSWITCH ran voice_ai_no_route.lua (the
--- inline dialplan after XML, or the plain-FreeSWITCH guard extension), which checked that the transfer is the
--- call flow's own (voice_ai.rescue.pending_transfer). What the first script knew is in the channel variables
--- it set before transferring (Call:remember_transfer).
function M.resume(session, fs, opts)
  local call = M.new(session, fs, nil, opts)
  call.language = normalize_language(channel_var(session, "voice_ai_call_language")) or call.language
  call.turns = tonumber(channel_var(session, "voice_ai_call_turns")) or 0
  call.transfer_attempts = tonumber(channel_var(session, "voice_ai_transfer_attempts")) or MAX_TRANSFER_ATTEMPTS
  -- the first script found the service down: do not wait on it again (no event, a short /end)
  call.service_down = channel_var(session, "voice_ai_service_down") == "true"
  if channel_var(session, "voice_ai_call_started") == "true" then
    call.started = {
      conversation_uuid = channel_var(session, "voice_ai_conversation_uuid"),
      operator_destination = channel_var(session, "voice_ai_operator_destination"),
      operator_context = channel_var(session, "voice_ai_operator_context"),
    }
  end
  call.failed = {
    destination = channel_var(session, "voice_ai_transfer_destination") or "?",
    context = channel_var(session, "voice_ai_transfer_context") or "?",
    outcome = channel_var(session, "voice_ai_transfer_outcome") or "transferred",
  }
  return call
end

--- Apologise at once, then tell the service the transfer did not happen (`transfer_failed` re-opens the
--- conversation) and send the caller to the operator — unless the operator is what did not route, or this is
--- already the second attempt: then the apology, a hangup and the outcome `error`. Either way a second /end tells
--- the truth. The caller hears the apology before the script waits on the service.
function Call:recover_transfer(input_hook, hangup_hook)
  local session, failed = self.session, self.failed
  session:setHangupHook(hangup_hook)
  session:setInputCallback(input_hook, "")
  self.log:err("transfer to %s@%s did not route (no such extension or context in the dialplan)", failed.destination,
    failed.context)
  local ok, err = pcall(function()
    local destination, context = self:operator()
    local same = destination == failed.destination and context == failed.context
    local retry = destination and not same and self.transfer_attempts < MAX_TRANSFER_ATTEMPTS
    self:play_local(retry and "error_transfer" or "error_goodbye")
    if self.started then
      self:post_event("transfer_failed", {
        destination = safe_destination(failed.destination) and failed.destination or nil,
        context = safe_context(failed.context) and failed.context or nil,
        detail = "NO_ROUTE_DESTINATION",
      })
    end
    if retry then
      return self:transfer(destination, context, failed.outcome == "error" and "error" or "transferred",
        "the transfer to " .. failed.destination .. " did not route")
    end
    self.log:err("no operator destination left that routes: the call ends")
    return self:goodbye("error")
  end)
  if not ok then
    self.log:crit("call flow error: %s", tostring(err))
    if session:ready() then
      self.closing = true
      session:hangup("NORMAL_TEMPORARY_FAILURE")
    end
  end
  session:ready() -- lets a pending hangup hook run
  if self.started and not self.ended then
    self:post_end(self.outcome or "error")
  end
end

M.Call = Call
return M
