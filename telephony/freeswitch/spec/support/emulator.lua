--- An emulator of FreeSWITCH's Lua API (mod_lua on FreeSWITCH 1.10) for running the call flow outside
--- FreeSWITCH. It follows the semantics of switch_cpp.h / freeswitch_lua.cpp, not convenience:
---
--- * Methods check their arguments the way the SWIG wrapper does (count and char*/int types), so passing a
---   Lua function where FreeSWITCH wants a global function *name* fails here as it fails there.
--- * setInputCallback/setHangupHook take global names; callbacks are looked up in _G when they fire, with the
---   session object found through the global named by the call uuid (as Session::setLUA does).
--- * The hangup hook does not run when the caller hangs up: it runs at the script's next blocking session
---   call (ready(), streamFile, recordFile, execute, sleep, …), and on transfer too ("transfer").
--- * recordFile(path, time_limit, silence_threshold, silence_hits) runs switch_ivr_record_file's silence
---   detection on the caller's audio in 20 ms frames: score = mean |sample|; `silence_hits` seconds of frames
---   below the threshold end the recording; so does time_limit. It writes a real WAV and sets record_ms.
--- * streamFile checks the file is a real WAV (RIFF/WAVE, PCM, a data chunk that fits) and plays it for its
---   duration; DTMF during playback goes to the input callback, whose answer "break" (anything but
---   nil/""/"true"/"undefined") stops it.
--- * record_session (switch_ivr_async.c's media bug) as checked on the real FreeSWITCH 1.10.12: `path [+limit]
---   [{VAR=value,…}]`, the variables read from the braces first, then the channel; the bug records while the
---   script does other blocking things — here, while it sleeps (CoreSession::sleep, which also hands keys to the
---   input callback and returns early when it answers "break"). RECORD_INITIAL_TIMEOUT_MS /
---   RECORD_FINAL_TIMEOUT_MS / RECORD_SILENCE_THRESHOLD: silence is timed from the start of the recording
---   until the first loud frame (initial), then from the start of each silence (final); either timeout ends the
---   recording and sets `record_completion_cause` ("no-input-timeout" without speech, "success-silence" after
---   it), as does the time limit ("success-maxtime"), stop_record_session ("success-maxtime" unless already
---   set) and a hangup. With a bug on the channel, frames the caller does not send (comfort noise) still reach
---   it as samples of -1: silence that counts. A recording that got no frame is deleted (RECORD_DISCARDED). A
---   file it cannot open (a step's `record_fails`, or an unwritable folder) sets `record_completion_cause` to
---   "uri-failure" at once and records nothing (RECORD_HANGUP_ON_ERROR=false keeps the call up). (FreeSWITCH
---   would first create a missing folder; the emulator does not — the call flow checks its folder at the start.)
--- * getVariable falls back to the caller profile's fields (destination_number, context, dialplan, caller id,
---   rdnis), then to global variables (switch_channel_get_variable_dup). A scenario's `variables` of those names
---   fill the profile.
--- * After transfer (execute "transfer" or session:transfer) the channel is not ready(). The transfer follows
---   switch_ivr_session_transfer: a transfer that names no dialplan uses `force_transfer_dialplan`, else the
---   profile's (never "inline"), else XML; no context: `force_transfer_context`, else the profile's; the profile
---   gets the new destination, context and dialplan, `transfer_source` / `transfer_history` the
---   "<epoch>:<uuid>:bl_xfer:<ext>/<context>/<dialplan>" entry. The dialplans are hunted in order
---   (switch_core_standard_on_routing). XML (mod_dialplan_xml's dialplan_hunt): `caller.unrouted` lists
---   "<destination>@<context>", "@<context>" (no such context) or "<destination>" that no extension takes;
---   `caller.continue_contexts` names contexts that begin with always-matching continue="true" extensions (a
---   plain FreeSWITCH's `default`, every FusionPBX domain): there XML "finds" a route made of those alone;
---   `caller.guards` maps a context to the script of the plain-FreeSWITCH guard extension at its end, which
---   matches `^${voice_ai_transfer_pattern}$` (variables expanded, the regex literal escapes only). What runs:
---   a real extension (the department: `caller.departments["<dest>"]` may then blind-transfer the call, as a SIP
---   REFER does: `{ blind_transfer = "2099" }`); the guard's script; the continue extensions alone (then the call
---   ends, NORMAL_CLEARING, in silence); nothing: the next dialplan — `inline:lua:<script>` runs the script — or,
---   none left, a NO_ROUTE_DESTINATION hangup, in silence (the inline dialplan puts the number dialled before
---   the transfer back in destination_number, as mod_dptools' inline_dialplan_hunt does).
---   emulator.take_inline() gives the harness the script FreeSWITCH runs next on the channel.
---
--- Time is virtual (media takes no wall-clock time); HTTP made by the script is real.
---
--- The caller is a scenario: each recordFile consumes the next step of `caller.steps`:
---   {say = "x.wav", pause_ms = 300}      speak a WAV (8 kHz mono 16-bit) after a pause, then stay silent
---   {silence = true}                    say nothing (line noise)
---   {quiet = true}                      send no audio at all (comfort noise)
---   {press = "0", at_ms = 500}          press a key that far into the recording (with or without say)
---   {hangup_at_ms = 800}                hang up that far into the recording (with or without say)
--- `caller.refuse_transfers` lists destinations whose transfer FreeSWITCH would not carry out (e.g. the
--- loop guard max_forwards): execute("transfer") returns and the channel stays in the script.
--- and `caller.playback` maps the n-th streamFile (1-based) to {press = "5", at_ms = 200} or
--- {hangup_at_ms = 100}. With no steps left the caller hangs up.
---
--- Streaming mode: `caller.modules` lists the loaded modules `module_exists` knows (mod_audio_stream…), and
--- `caller.socket` is what the service does while the `socket` application parks the call (checked on the real
--- FreeSWITCH 1.10.12, tests/test_real_freeswitch_stream.py): `{ refused = true }` — nobody listens: the app
--- logs "Socket Error" and returns at once; `{ set = {name = value}, action = "transfer", data = "<dest>
--- <dialplans> <context>" }` — the service set variables, then transferred the call (uuid_transfer: the app
--- returns, the channel is not ready); `action = "hangup"`; `action = "close"` (or none) — the service closed
--- the connection without ending the call (it failed or died): with `socket_resume` true the app returns with
--- the channel ready, without it the channel stays parked until it hangs up (here: hung up at once).
local M = {}

local FRAME_MS = 20
local RATE = 8000
local FRAME_SAMPLES = RATE * FRAME_MS // 1000

-- WAV files --------------------------------------------------------------------------------------------

--- Parse a WAV file; returns {format, channels, rate, bits, data_bytes, duration_ms, pcm} or nil, error.
function M.read_wav(path)
  local handle = io.open(path, "rb")
  if not handle then
    return nil, "no such file"
  end
  local data = handle:read("*a")
  handle:close()
  if #data < 12 or data:sub(1, 4) ~= "RIFF" or data:sub(9, 12) ~= "WAVE" then
    return nil, "not a RIFF/WAVE file"
  end
  local pos, fmt, pcm = 13, nil, nil
  while pos + 8 <= #data + 1 do
    local id, size = data:sub(pos, pos + 3), string.unpack("<I4", data, pos + 4)
    local body = pos + 8
    if id == "fmt " then
      if size < 16 then
        return nil, "short fmt chunk"
      end
      local format, channels, rate, _, _, bits = string.unpack("<I2I2I4I4I2I2", data, body)
      fmt = { format = format, channels = channels, rate = rate, bits = bits }
    elseif id == "data" then
      if body + size - 1 > #data then
        return nil, string.format("data chunk says %d bytes, file has %d", size, #data - body + 1)
      end
      pcm = data:sub(body, body + size - 1)
    end
    pos = body + size + (size % 2)
  end
  if not fmt then
    return nil, "no fmt chunk"
  end
  if not pcm or #pcm == 0 then
    return nil, "no audio data"
  end
  if fmt.format ~= 1 or fmt.bits ~= 16 then
    return nil, string.format("unsupported encoding (format %d, %d bits)", fmt.format, fmt.bits)
  end
  if fmt.channels < 1 or fmt.channels > 2 or fmt.rate < 8000 or fmt.rate > 48000 then
    return nil, string.format("unsupported layout (%d channels, %d Hz)", fmt.channels, fmt.rate)
  end
  fmt.data_bytes = #pcm
  fmt.duration_ms = math.floor(#pcm / (2 * fmt.channels) * 1000 / fmt.rate + 0.5)
  fmt.pcm = pcm
  return fmt
end

--- Write mono 16-bit PCM (a string of little-endian samples) as a WAV file.
function M.write_wav(path, pcm, rate)
  local handle, err = io.open(path, "wb")
  if not handle then
    return nil, err
  end
  rate = rate or RATE
  handle:write("RIFF", string.pack("<I4", 36 + #pcm), "WAVE", "fmt ",
    string.pack("<I4I2I2I4I4I2I2", 16, 1, 1, rate, rate * 2, 2, 16), "data", string.pack("<I4", #pcm), pcm)
  handle:close()
  return true
end

-- SWIG-like argument checks ----------------------------------------------------------------------------

local function check_args(method, min, max, ...)
  local n = select("#", ...)
  if n < min or n > max then
    error(string.format("Error in %s expected %d..%d args, got %d", method, min + 1, max + 1, n + 1), 3)
  end
  return ...
end

local function want_string(method, index, value, optional)
  if value == nil and optional then
    return nil
  end
  local kind = type(value)
  if kind ~= "string" and kind ~= "number" then
    error(string.format("Error in %s (arg %d), expected 'char *' got '%s'", method, index + 1, kind), 3)
  end
  return tostring(value)
end

local function want_int(method, index, value, default)
  if value == nil and default ~= nil then
    return default
  end
  local n = tonumber(value)
  if n == nil then
    error(string.format("Error in %s (arg %d), expected 'int' got '%s'", method, index + 1, type(value)), 3)
  end
  return math.floor(n)
end

local function continues(result)
  -- switch_ivr_process_fh: empty, "true" and "undefined" go on; anything else stops the media
  return result == nil or result == "" or result == "true" or result == "undefined"
end

-- The emulator -----------------------------------------------------------------------------------------

--- A new call. opts: uuid, variables (channel), globals (FreeSWITCH global variables), caller (scenario),
--- env (the table holding Lua globals, default _G).
function M.new(opts)
  opts = opts or {}
  local env = opts.env or _G
  local uuid = opts.uuid or "00000000-0000-4000-8000-000000000001"
  local caller = opts.caller or {}
  local steps = caller.steps or {}
  local playback_events = caller.playback or {}
  local noise_level = caller.noise_level or 40
  local seed = 12345

  local PROFILE_FIELDS = { destination_number = true, context = true, dialplan = true, caller_id_number = true,
    caller_id_name = true, rdnis = true }
  local channel = {
    profile = { destination_number = "8000", context = "default", dialplan = "XML" },
    state = "CS_EXECUTE",
    answered = false,
    hangup_cause = nil,
    transferred = false,
    variables = {},
    hook = nil, -- {func=, arg=, hook_state=}
    hh = false,
    mark = false,
    callback = nil, -- {func=, arg=}
    digit_queue = {},
    auto_hangup = true,
  }
  for k, v in pairs(opts.variables or {}) do
    if PROFILE_FIELDS[k] then
      channel.profile[k] = tostring(v)
    else
      channel.variables[k] = tostring(v)
    end
  end
  channel.variables.uuid = uuid
  local globals = {}
  for k, v in pairs(opts.globals or {}) do
    globals[k] = tostring(v)
  end

  local transcript = { events = {}, logs = {} }
  local bug = nil -- the running record_session
  local inline = nil -- the script of a transfer XML could not route
  local clock_ms = 0
  local record_index, playback_index = 0, 0

  local function event(op, fields)
    local entry = { t = clock_ms, op = op }
    for k, v in pairs(fields or {}) do
      entry[k] = v
    end
    transcript.events[#transcript.events + 1] = entry
    return entry
  end

  local function set_state(state, cause)
    if channel.state == "CS_HANGUP" then
      return
    end
    channel.state = state
    if state == "CS_HANGUP" then
      channel.hangup_cause = cause or "NORMAL_CLEARING"
      channel.variables.hangup_cause = channel.hangup_cause
    end
    -- lua_hanguphook: the first change to CS_HANGUP or CS_ROUTING marks the hook, which then detaches
    local hook = channel.hook
    if hook and not hook.fired_state and (state == "CS_HANGUP" or state == "CS_ROUTING") then
      hook.fired_state = state
      channel.hh = true
    end
  end

  local function ready()
    return channel.state ~= "CS_HANGUP" and channel.state ~= "CS_ROUTING" and not channel.transferred
  end

  local session = {}

  local function do_hangup_hook()
    if not (channel.hh and not channel.mark) then
      return
    end
    channel.mark = true
    local hook = channel.hook
    local how = hook.fired_state == "CS_HANGUP" and "hangup" or "transfer"
    event("hangup_hook", { func = hook.func, how = how })
    local fn = env[hook.func]
    local result
    if type(fn) ~= "function" then
      event("error", { message = "hangup hook " .. hook.func .. " is not a global function" })
    else
      local args = { env[uuid], how }
      if hook.arg then
        args[3] = env[hook.arg]
      end
      local ok, value = pcall(fn, table.unpack(args, 1, hook.arg and 3 or 2))
      if not ok then
        event("error", { message = "hangup hook raised: " .. tostring(value) })
      else
        result = value
      end
    end
    channel.variables.lua_hangup_hook_return_val = result and tostring(result) or nil
    channel.hook = nil
    if type(result) == "string" and (result:lower() == "exit" or result:lower() == "die") then
      error(result, 0)
    end
  end

  -- begin_allow_threads/end_allow_threads run the pending hook in every blocking method
  local caller_hangs_up
  local function blocking(fn)
    return function(...)
      if channel.pending_hangup then -- a hangup that reached the channel while the script was busy
        local where = channel.pending_hangup
        channel.pending_hangup = nil
        caller_hangs_up(where)
      end
      do_hangup_hook()
      local results = table.pack(fn(...))
      do_hangup_hook()
      return table.unpack(results, 1, results.n)
    end
  end

  function caller_hangs_up(where)
    event("caller_hangup", { during = where })
    set_state("CS_HANGUP", "NORMAL_CLEARING")
  end

  -- Deliver a key to the input callback; returns true when the media must stop.
  local function press(digit, where)
    local cb = channel.callback
    if not cb then
      channel.digit_queue[#channel.digit_queue + 1] = digit
      event("dtmf_queued", { digit = digit, during = where })
      return false
    end
    local fn = env[cb.func]
    if type(fn) ~= "function" then
      event("error", { message = "input callback " .. cb.func .. " is not a global function" })
      return true
    end
    local args = { env[uuid], "dtmf", { digit = digit, duration = 1600 } }
    if cb.arg then
      args[4] = env[cb.arg]
    end
    local ok, result = pcall(fn, table.unpack(args, 1, cb.arg and 4 or 3))
    if not ok then
      event("error", { message = "input callback raised: " .. tostring(result) })
      result = "SCRIPT_ERROR" -- mod_lua's answer for a failed callback: it stops the media
    end
    local stop = not continues(result)
    event("dtmf", { digit = digit, during = where, callback_returned = result, stops_media = stop })
    return stop
  end

  local function next_random()
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed
  end

  local function noise_frame()
    local samples = {}
    for i = 1, FRAME_SAMPLES do
      samples[i] = next_random() % (2 * noise_level + 1) - noise_level
    end
    return samples
  end

  local function frames_of(pcm)
    local frames = {}
    local count = #pcm // 2
    local frame = {}
    for i = 0, count - 1 do
      frame[#frame + 1] = string.unpack("<i2", pcm, i * 2 + 1)
      if #frame == FRAME_SAMPLES then
        frames[#frames + 1] = frame
        frame = {}
      end
    end
    if #frame > 0 then
      while #frame < FRAME_SAMPLES do
        frame[#frame + 1] = 0
      end
      frames[#frames + 1] = frame
    end
    return frames
  end

  local function score(frame)
    local energy = 0
    for i = 1, #frame do
      energy = energy + math.abs(frame[i])
    end
    return energy // #frame
  end

  -- session methods ---------------------------------------------------------------------------------

  function session:answer() -- CoreSession::answer: no allow_threads, so no hook here; 1 on success
    channel.answered = true
    channel.variables.answer_epoch = tostring(os.time())
    event("answer")
    return 1
  end

  function session:preAnswer()
    event("pre_answer")
  end

  function session:answered()
    return channel.answered
  end

  function session:mediaReady()
    return channel.answered and ready()
  end

  function session:ready()
    local r = ready()
    do_hangup_hook()
    return r
  end

  function session:get_uuid()
    return uuid
  end

  function session:getState()
    return channel.state
  end

  function session:hangupCause()
    return channel.hangup_cause
  end

  function session:getVariable(...)
    local name = want_string("CoreSession::getVariable", 1, check_args("CoreSession::getVariable", 1, 1, ...))
    local value = channel.variables[name]
    if value == nil then
      value = channel.profile[name] -- then the caller profile's fields
    end
    if value == nil then
      value = globals[name] -- then global variables
    end
    return value
  end

  function session:setVariable(...)
    local name, value = check_args("CoreSession::setVariable", 2, 2, ...)
    name = want_string("CoreSession::setVariable", 1, name)
    channel.variables[name] = want_string("CoreSession::setVariable", 2, value, true)
  end

  function session:setAutoHangup(value)
    channel.auto_hangup = value and true or false
  end

  function session:consoleLog(level, text) -- CoreSession::consoleLog: the line carries the channel's uuid
    transcript.logs[#transcript.logs + 1] = { t = clock_ms, level = tostring(level), text = tostring(text), via = "session" }
  end

  function session:setInputCallback(...)
    local func, arg = check_args("Session::setInputCallback", 1, 2, ...)
    func = want_string("Session::setInputCallback", 1, func)
    arg = want_string("Session::setInputCallback", 2, arg, true)
    channel.callback = { func = func, arg = (arg ~= nil and arg ~= "") and arg or nil }
    event("set_input_callback", { func = func })
  end

  function session:unsetInputCallback()
    channel.callback = nil
  end

  function session:setHangupHook(...)
    local func, arg = check_args("Session::setHangupHook", 1, 2, ...)
    func = want_string("Session::setHangupHook", 1, func)
    arg = want_string("Session::setHangupHook", 2, arg, true)
    channel.hook = { func = func, arg = (arg ~= nil and arg ~= "") and arg or nil }
    channel.hh, channel.mark = false, false
    event("set_hangup_hook", { func = func })
  end

  function session:hangup(...)
    local cause = check_args("CoreSession::hangup", 0, 1, ...)
    cause = want_string("CoreSession::hangup", 1, cause, true) or "normal_clearing"
    if channel.state ~= "CS_HANGUP" then
      event("hangup", { cause = cause, by = "script" })
      set_state("CS_HANGUP", cause:upper())
    end
  end
  session.hangup = blocking(session.hangup) -- FreeSWITCH runs the hangup hook before hangup() returns

  local function play(path, where)
    playback_index = playback_index + 1
    local index = playback_index
    local info, err
    if path:match("^tone_stream://") then
      info = { rate = 8000, channels = 1, duration_ms = 1000 * (tonumber(path:match("loops=(%d+)")) or 1) }
    else
      info, err = M.read_wav(path)
    end
    local entry = event("playback", { file = path, index = index, during = where })
    if not info then
      entry.ok = false
      entry.error = err
      event("error", { message = string.format("cannot play %s: %s", path, err) })
      return false
    end
    entry.ok = true
    entry.rate, entry.channels, entry.duration_ms = info.rate, info.channels, info.duration_ms
    local planned = playback_events[index] or playback_events[tostring(index)]
    -- queued keys (pressed while the script was busy) reach the callback as soon as playback starts
    while #channel.digit_queue > 0 and channel.callback do
      local digit = table.remove(channel.digit_queue, 1)
      if press(digit, where) then
        entry.stopped_at_ms = 0
        return true
      end
    end
    if planned and planned.hangup_at_ms and planned.hangup_at_ms < info.duration_ms then
      clock_ms = clock_ms + planned.hangup_at_ms
      entry.stopped_at_ms = planned.hangup_at_ms
      caller_hangs_up("playback")
      return false
    end
    if planned and planned.press and (planned.at_ms or 0) < info.duration_ms then
      clock_ms = clock_ms + (planned.at_ms or 0)
      if press(planned.press, where) then
        entry.stopped_at_ms = planned.at_ms or 0
        return true
      end
      clock_ms = clock_ms + info.duration_ms - (planned.at_ms or 0)
      return true
    end
    clock_ms = clock_ms + info.duration_ms
    return true
  end

  function session:streamFile(...)
    local file, start = check_args("CoreSession::streamFile", 1, 2, ...)
    file = want_string("CoreSession::streamFile", 1, file)
    want_int("CoreSession::streamFile", 2, start, 0)
    if not ready() then
      event("playback_skipped", { file = file, reason = "channel not ready" })
      return 0
    end
    local before = #transcript.events
    local ok = play(file, "streamFile")
    for i = before + 1, #transcript.events do
      if transcript.events[i].op == "playback" and transcript.events[i].stopped_at_ms then
        return 0 -- interrupted: switch_ivr_play_file answers SWITCH_STATUS_BREAK
      end
    end
    return ok and 1 or 0
  end
  session.streamFile = blocking(session.streamFile)

  function session:recordFile(...)
    local m = "CoreSession::recordFile"
    local file, limit, threshold, hits = check_args(m, 1, 4, ...)
    file = want_string(m, 1, file)
    limit = want_int(m, 2, limit, 0)
    threshold = want_int(m, 3, threshold, 0)
    hits = want_int(m, 4, hits, 0)
    if not ready() then
      event("record_skipped", { file = file, reason = "channel not ready" })
      return 0
    end
    record_index = record_index + 1
    local step = steps[record_index]
    local entry = event("record", {
      file = file, index = record_index, time_limit = limit, silence_threshold = threshold, silence_hits = hits,
    })
    if not step then
      entry.stopped_by = "caller hung up (scenario over)"
      caller_hangs_up("record")
      return 0
    end
    local speech = {}
    if step.say then
      local info, err = M.read_wav(step.say)
      assert(info, "fixture " .. tostring(step.say) .. ": " .. tostring(err))
      assert(info.rate == RATE and info.channels == 1, "fixtures are 8 kHz mono: " .. step.say)
      speech = frames_of(info.pcm)
      entry.said = step.say
    end
    local pause_frames = (step.pause_ms or 300) // FRAME_MS
    local max_frames = limit > 0 and limit * 1000 // FRAME_MS or math.huge
    if threshold > 0 and hits == 0 then
      hits = 3 -- switch_ivr_record_file's default when a threshold is set
    end
    local needed = hits > 0 and hits * RATE // FRAME_SAMPLES or 0
    -- the file is opened before anything is recorded; FreeSWITCH does not create folders
    local probe = io.open(file, "wb")
    if not probe then
      entry.error = "cannot open " .. file
      event("error", { message = string.format("Error opening %s for recording", file) })
      caller_hangs_up("record (file open failed)")
      channel.hangup_cause = "DESTINATION_OUT_OF_ORDER"
      return 0
    end
    probe:close()
    -- keys pressed while the script was busy reach the callback now
    while #channel.digit_queue > 0 and channel.callback do
      if press(table.remove(channel.digit_queue, 1), "recordFile") then
        entry.stopped_by = "dtmf (queued)"
        entry.recorded_ms = 0
        M.write_wav(file, "", RATE)
        return 1
      end
    end
    local left = needed
    local recorded = {}
    local stopped_by
    local frame_index = 0
    while true do
      frame_index = frame_index + 1
      local at_ms = (frame_index - 1) * FRAME_MS
      if step.hangup_at_ms and at_ms >= step.hangup_at_ms then
        clock_ms = clock_ms + at_ms
        stopped_by = "hangup"
        caller_hangs_up("record")
        break
      end
      if step.press and at_ms >= (step.at_ms or 0) and not entry.pressed then
        entry.pressed = step.press
        if press(step.press, "recordFile") then
          clock_ms = clock_ms + at_ms
          stopped_by = "dtmf"
          break
        end
      end
      if frame_index > max_frames then
        clock_ms = clock_ms + at_ms
        stopped_by = "time_limit"
        break
      end
      local frame
      if frame_index > pause_frames and speech[frame_index - pause_frames] then
        frame = speech[frame_index - pause_frames]
      else
        frame = noise_frame()
      end
      recorded[#recorded + 1] = frame
      if threshold > 0 and needed > 0 then
        if score(frame) < threshold then
          left = left - 1
          if left == 0 then
            clock_ms = clock_ms + frame_index * FRAME_MS
            stopped_by = "silence"
            break
          end
        else
          left = needed
        end
      end
      if frame_index > 3600 * 1000 // FRAME_MS then
        error("recordFile without time limit or silence detection never returns")
      end
    end
    local parts = {}
    for i, frame in ipairs(recorded) do
      parts[i] = string.pack("<" .. string.rep("i2", #frame), table.unpack(frame))
    end
    local pcm = table.concat(parts)
    entry.stopped_by = stopped_by
    entry.recorded_ms = #recorded * FRAME_MS
    local ok, err = M.write_wav(file, pcm, RATE)
    if not ok then
      entry.error = "cannot write: " .. tostring(err)
      event("error", { message = string.format("Error opening %s for recording", file) })
      return 0
    end
    channel.variables.record_ms = tostring(#recorded * FRAME_MS)
    channel.variables.record_samples = tostring(#pcm // 2)
    channel.digit_queue = {} -- record_file flushes the keys when it ends
    return 1
  end
  session.recordFile = blocking(session.recordFile)

  -- record_session ---------------------------------------------------------------------------------

  local function recording_var(vars, name)
    local value = vars[name]
    if value == nil then
      value = channel.variables[name]
    end
    return value
  end

  local function truthy(value)
    return value ~= nil and ({ ["true"] = true, yes = true, on = true, ["1"] = true })[tostring(value):lower()] == true
  end

  local function close_bug(cause, stopped_by)
    local b = bug
    bug = nil
    if not b.cause then
      b.cause = cause
    end
    local parts = {}
    for i, frame in ipairs(b.recorded) do
      parts[i] = string.pack("<" .. string.rep("i2", #frame), table.unpack(frame))
    end
    local pcm = table.concat(parts)
    b.entry.stopped_by = stopped_by
    b.entry.completion_cause = b.cause
    b.entry.recorded_ms = #b.recorded * FRAME_MS
    if #b.recorded == 0 then
      os.remove(b.file)
      channel.variables.RECORD_DISCARDED = "true"
      b.cause = "empty-file"
    else
      M.write_wav(b.file, pcm, RATE)
    end
    channel.variables.record_completion_cause = b.cause
    channel.variables.record_ms = tostring(#b.recorded * FRAME_MS)
    channel.variables.record_samples = tostring(#pcm // 2)
  end

  local function start_bug(data)
    local file, rest = (data or ""):match("^(%S+)%s*(.-)$")
    if not file then
      event("error", { message = "usage: <path> [+<timeout>] [{var1=x,var2=y}]" })
      return
    end
    local limit = tonumber(rest:match("^%+(%d+)")) or 0
    local vars = {}
    for pair in (rest:match("{(.*)}") or ""):gmatch("[^,]+") do
      local k, v = pair:match("^%s*([^=]+)=(.*)$")
      if k then
        vars[k] = v
      end
    end
    record_index = record_index + 1
    local step = steps[record_index]
    local initial = tonumber(recording_var(vars, "RECORD_INITIAL_TIMEOUT_MS"))
    local final = tonumber(recording_var(vars, "RECORD_FINAL_TIMEOUT_MS"))
    local threshold = (initial or final) and 200 or 0
    threshold = tonumber(recording_var(vars, "RECORD_SILENCE_THRESHOLD")) or threshold
    local entry = event("record", {
      file = file, index = record_index, mode = "record_session", time_limit = limit, silence_threshold = threshold,
      initial_timeout_ms = initial or 0, final_timeout_ms = final or 0,
    })
    if not truthy(recording_var(vars, "RECORD_READ_ONLY")) or truthy(recording_var(vars, "RECORD_STEREO")) then
      event("error", { message = "record_session would record both directions (the secretary's prompts too)" })
    end
    if not step then
      entry.stopped_by = "caller hung up (scenario over)"
      caller_hangs_up("record")
      return
    end
    local probe = not step.record_fails and io.open(file, "wb")
    if not probe then
      -- switch_ivr_record_session_event: "Error opening <file>", completion cause uri-failure, no bug
      entry.error = "cannot open " .. file
      entry.completion_cause = "uri-failure"
      event("log", { level = "err", message = string.format("Error opening %s", file) })
      channel.variables.record_completion_cause = "uri-failure"
      return
    end
    probe:close()
    local speech = {}
    if step.say then
      local info, err = M.read_wav(step.say)
      assert(info, "fixture " .. tostring(step.say) .. ": " .. tostring(err))
      assert(info.rate == RATE and info.channels == 1, "fixtures are 8 kHz mono: " .. step.say)
      speech = frames_of(info.pcm)
      entry.said = step.say
    end
    bug = {
      file = file, entry = entry, step = step, speech = speech, recorded = {}, frame_index = 0,
      pause_frames = (step.pause_ms or 300) // FRAME_MS, limit_ms = limit * 1000, threshold = threshold,
      initial = initial or 0, final = final or 0, silence_start = 0, timeout = initial or 0, speaking = false,
      remainder = 0,
    }
  end

  -- One 20 ms frame of the caller into the bug. Returns "stop" when a key asked to stop the media.
  local function feed_frame()
    local b = bug
    b.frame_index = b.frame_index + 1
    local at_ms = (b.frame_index - 1) * FRAME_MS
    local step = b.step
    if step.hangup_at_ms and at_ms >= step.hangup_at_ms then
      b.entry.hangup_at_ms = at_ms
      caller_hangs_up("record")
      close_bug(b.speaking and "success-silence" or "no-input-timeout", "hangup")
      return "gone"
    end
    if step.press and at_ms >= (step.at_ms or 0) and not b.entry.pressed then
      b.entry.pressed = step.press
      if press(step.press, "record_session") then
        b.key_stopped = true
        return "stop"
      end
    end
    if b.limit_ms > 0 and at_ms >= b.limit_ms then
      close_bug("success-maxtime", "time_limit")
      return "closed"
    end
    clock_ms = clock_ms + FRAME_MS
    local frame
    if b.frame_index > b.pause_frames and b.speech[b.frame_index - b.pause_frames] then
      frame = b.speech[b.frame_index - b.pause_frames]
    elseif step.quiet then
      frame = {}
      for i = 1, FRAME_SAMPLES do
        frame[i] = -1 -- comfort noise turned into raw frames for the bug (switch_core_io.c: memset 255)
      end
    else
      frame = noise_frame()
    end
    b.recorded[#b.recorded + 1] = frame
    if b.threshold > 0 then
      if score(frame) < b.threshold then
        if not b.silence_start then
          b.silence_start = at_ms
        elseif b.timeout > 0 and at_ms + FRAME_MS - b.silence_start >= b.timeout then
          close_bug(b.speaking and "success-silence" or "no-input-timeout", b.speaking and "silence" or "no_input")
          return "closed"
        end
      elseif b.silence_start then
        b.speaking = true
        b.silence_start = nil
        b.timeout = b.final
      end
    end
    if b.frame_index > 3600 * 1000 // FRAME_MS then
      error("record_session without time limit or silence detection never ends")
    end
  end

  function session:sleep(...)
    local ms = want_int("CoreSession::sleep", 1, check_args("CoreSession::sleep", 1, 2, ...))
    if not ready() then
      return 0
    end
    event("sleep", { ms = ms, recording = bug ~= nil })
    -- keys pressed while the script was busy reach the callback now; "break" ends the sleep
    while #channel.digit_queue > 0 and channel.callback do
      if press(table.remove(channel.digit_queue, 1), "sleep") then
        return 0
      end
    end
    if not bug then
      clock_ms = clock_ms + ms
      return 1
    end
    bug.remainder = bug.remainder + ms
    while bug and bug.remainder >= FRAME_MS do
      bug.remainder = bug.remainder - FRAME_MS
      local result = feed_frame()
      if result == "stop" or result == "gone" then
        return 0
      end
    end
    return 1
  end
  session.sleep = blocking(session.sleep)

  local function listed(list, destination, context)
    for _, item in ipairs(list or {}) do
      if item == destination .. "@" .. context or item == "@" .. context or item == destination then
        return true
      end
    end
    return false
  end

  -- `^<pattern>$` against `value`, for the guard's pattern: escaped characters are literal, an unescaped "." any
  -- character; other unescaped regex syntax (+ * ? …) is not modelled: no match, as a PCRE compile error would
  local function pattern_matches(pattern, value)
    if not pattern or pattern == "" then
      return value == ""
    end
    local lua_pattern, i = {}, 1
    while i <= #pattern do
      local c = pattern:sub(i, i)
      if c == "\\" then
        lua_pattern[#lua_pattern + 1] = "%" .. pattern:sub(i + 1, i + 1)
        i = i + 2
      else
        if c:match("[%+%*%?%(%)%[%]%{%}%^%$|]") then
          event("regex_error", { pattern = pattern })
          return false
        end
        lua_pattern[#lua_pattern + 1] = c == "." and "." or c:gsub("%W", "%%%0")
        i = i + 1
      end
    end
    return value:match("^" .. table.concat(lua_pattern) .. "$") ~= nil
  end

  local pending_department = nil -- what the department that took the call does next

  -- XML's hunt in `context` for `destination`: "extension", "guard", "continue_only" or nil (nothing found)
  local function hunt_xml(destination, context)
    for _, item in ipairs(caller.unrouted or {}) do
      if item == "@" .. context then -- no such context: XML finds nothing
        return nil
      end
    end
    if not listed(caller.unrouted, destination, context) then
      return "extension"
    end
    local guard = (caller.guards or {})[context]
    local pattern = channel.variables.voice_ai_transfer_pattern
    if guard and pattern and pattern ~= "" and pattern_matches(pattern, destination) then
      return "guard", guard
    end
    for _, name in ipairs(caller.continue_contexts or {}) do
      if name == context then
        return "continue_only"
      end
    end
    return nil
  end

  local function transfer_to(destination, dialplan, context)
    local profile = channel.profile
    -- switch_ivr_session_transfer
    if (dialplan or "") == "" then
      dialplan = channel.variables.force_transfer_dialplan
      if (dialplan or "") == "" then
        dialplan = profile.dialplan ~= "inline" and profile.dialplan or nil
      end
    end
    if (context or "") == "" then
      context = channel.variables.force_transfer_context or profile.context
    end
    dialplan, context = (dialplan or "") ~= "" and dialplan or "XML", (context or "") ~= "" and context or "default"
    local entry = event("transfer", { destination = destination, dialplan = dialplan, context = context })
    profile.rdnis, profile.destination_number = profile.destination_number, destination
    profile.dialplan, profile.context = dialplan, context
    local source = string.format("%d:%s:bl_xfer:%s/%s/%s", os.time(), uuid, destination, context, dialplan)
    channel.variables.transfer_source = source
    channel.history = channel.history or {}
    channel.history[#channel.history + 1] = source
    channel.variables.transfer_history = #channel.history == 1 and source or
      ("ARRAY::" .. table.concat(channel.history, "|:"))
    channel.transferred = true
    set_state("CS_ROUTING")
    if bug then
      close_bug(bug.speaking and "success-silence" or "no-input-timeout", "transfer")
    end
    -- switch_core_standard_on_routing: the dialplans in order, until one finds an extension
    for name in dialplan:gmatch("[^,]+") do
      name = name:match("^%s*(.-)%s*$")
      if name == "XML" then
        local found, script = hunt_xml(destination, context)
        if found == "extension" then
          local department = (caller.departments or {})[destination .. "@" .. context] or
            (caller.departments or {})[destination]
          pending_department = department
          return
        end
        entry.routed = false
        if found == "guard" then
          inline = script
          event("no_route", { destination = destination, context = context, guard = script })
          return
        elseif found == "continue_only" then
          -- the continue extensions' actions run, then nothing is left: the call ends without a word
          event("no_route", { destination = destination, context = context, continue_only = true })
          channel.transferred = false
          set_state("CS_HANGUP", "NORMAL_CLEARING")
          return
        end
      else
        local script = name:match("^inline:lua:(.+)$")
        if script then
          entry.routed = false
          inline = script
          -- mod_dptools' inline_dialplan_hunt puts the number dialled before the transfer back
          profile.destination_number, profile.rdnis = profile.rdnis, ""
          event("no_route", { destination = destination, context = context, inline = script })
          return
        end
      end
    end
    entry.routed = false
    event("no_route", { destination = destination, context = context })
    channel.transferred = false
    set_state("CS_HANGUP", "NO_ROUTE_DESTINATION")
  end

  function session:transfer(...)
    local m = "CoreSession::transfer"
    local ext, dialplan, context = check_args(m, 1, 3, ...)
    ext = want_string(m, 1, ext)
    if not ready() then
      return 0
    end
    transfer_to(ext, want_string(m, 2, dialplan, true), want_string(m, 3, context, true))
    return 1
  end
  session.transfer = blocking(session.transfer)

  function session:execute(...)
    local m = "CoreSession::execute"
    local app, data = check_args(m, 1, 2, ...)
    app = want_string(m, 1, app)
    data = want_string(m, 2, data, true)
    event("execute", { app = app, data = data })
    if app == "transfer" then
      if ready() then
        local dest, dialplan, context = (data or ""):match("^%s*(%S+)%s*(%S*)%s*(%S*)%s*$")
        if not dest then
          event("error", { message = "transfer: no destination" })
          return
        end
        if dest:sub(1, 1) == "-" then -- "-bleg"/"-both": a flag for the other leg; with none, nothing happens
          event("transfer_ignored", { data = data })
          return
        end
        for _, refused in ipairs(caller.refuse_transfers or {}) do
          if refused == dest then
            event("transfer_ignored", { data = data, reason = "refused by the scenario" })
            return
          end
        end
        transfer_to(dest, dialplan ~= "" and dialplan or nil, context ~= "" and context or nil)
      end
    elseif app == "record_session" then
      if ready() then
        start_bug(data)
      end
    elseif app == "stop_record_session" then
      if bug and bug.file == data then
        close_bug("success-maxtime", bug.key_stopped and "dtmf" or "stop_record_session")
      end
    elseif app == "hangup" then
      session:hangup(data)
    elseif app == "answer" then
      channel.answered = true
    elseif app == "set" then
      local name, value = (data or ""):match("^([^=]+)=(.*)$")
      if name then
        channel.variables[name] = value
      end
    elseif app == "playback" then
      if ready() then
        play(data or "", "playback")
      end
    elseif app == "sleep" then
      clock_ms = clock_ms + (tonumber(data) or 0)
    elseif app == "socket" then
      local plan = caller.socket or {}
      event("socket", { data = data, refused = plan.refused or nil })
      if ready() and not plan.refused then
        for name, value in pairs(plan.set or {}) do
          channel.variables[name] = value
        end
        local action = plan.action or "close"
        if action == "transfer" then
          local dest, dialplan, context = (plan.data or ""):match("^%s*(%S+)%s*(%S*)%s*(%S*)%s*$")
          transfer_to(dest, dialplan ~= "" and dialplan or nil, context ~= "" and context or nil)
        elseif action == "hangup" then
          event("hangup", { cause = "NORMAL_CLEARING", by = "the service" })
          set_state("CS_HANGUP", "NORMAL_CLEARING")
        elseif channel.variables.socket_resume ~= "true" then
          event("hangup", { cause = "NORMAL_CLEARING", by = "socket closed without socket_resume" })
          set_state("CS_HANGUP", "NORMAL_CLEARING")
        end
      end
    elseif app ~= "log" and app ~= "export" then
      event("error", { message = "Invalid Application " .. app })
    end
  end
  session.execute = blocking(session.execute)

  function session:playAndGetDigits(...)
    local m = "CoreSession::playAndGetDigits"
    local min, max, tries, timeout, terminators, audio, bad, regex, var_name =
      check_args(m, 8, 11, ...)
    min, max = want_int(m, 1, min), want_int(m, 2, max)
    want_int(m, 3, tries)
    want_int(m, 4, timeout)
    want_string(m, 5, terminators)
    audio = want_string(m, 6, audio)
    want_string(m, 7, bad)
    regex = want_string(m, 8, regex)
    if not ready() then
      return ""
    end
    play(audio, "playAndGetDigits")
    local digits = table.concat(channel.digit_queue)
    channel.digit_queue = {}
    if #digits < min or #digits > max or (regex ~= "" and not digits:match(regex)) then
      digits = ""
    end
    if var_name then
      channel.variables[var_name] = digits
    end
    return digits
  end
  session.playAndGetDigits = blocking(session.playAndGetDigits)

  function session:flushDigits()
    channel.digit_queue = {}
  end

  -- the freeswitch table --------------------------------------------------------------------------------

  local fs = {}

  function fs.consoleLog(level, text) -- freeswitch.consoleLog: a global line, tied to no call
    transcript.logs[#transcript.logs + 1] = { t = clock_ms, level = tostring(level), text = tostring(text), via = "global" }
  end

  function fs.getGlobalVariable(name)
    return globals[name]
  end

  function fs.msleep(ms) -- not a session method: no hangup hook here, but time passes for a pending hangup
    clock_ms = clock_ms + (tonumber(ms) or 0)
    if channel.pending_hangup then
      local where = channel.pending_hangup
      channel.pending_hangup = nil
      caller_hangs_up(where)
    end
  end

  -- freeswitch.Session(dial, session): an outbound leg (switch_ivr_originate), as the call flow rings a
  -- department (voice_ai.transfer). `caller.dial["<destination>"]` (or "<destination>@<context>") says what the
  -- attempt meets, as checked on the real FreeSWITCH 1.10.12: { cause = "NO_ANSWER" | "USER_BUSY" | … } — not
  -- answered (NO_ANSWER after originate_timeout); { caller_hangs_up = true } — the caller hangs up while it rings
  -- (the attempt ends at once, NO_ANSWER or `cancel_cause`; the caller's channel is down at the next blocking
  -- call); otherwise answered: `press` is the key the person presses while the announcement plays (none:
  -- nothing), `hangs_up` that they hang up during it, `talk_ms` how long the bridged call lasts. An announced
  -- attempt (`group_confirm_key=exec`, `group_confirm_file=lua <script> <args…>`) runs that script on the answered
  -- leg as originate's group confirm does (its own `session`, `argv`); a leg it leaves down fails the attempt
  -- NORMAL_CLEARING (seen on 1.10.12). `[leg_timeout=N]` after the `{…}` is the leg's own ring time.
  local function originate(...)
    local m = "freeswitch::Session"
    local dial, a_leg = check_args(m, 1, 2, ...)
    dial = want_string(m, 1, dial)
    local vars, target = dial:match("^{([^}]*)}(.*)$")
    vars, target = vars or "", target or dial
    local leg_vars, rest = target:match("^%[([^%]]*)%](.*)$")
    target = rest or target
    local destination, context = target:match("^loopback/([^/]+)/([^/]+)$")
    local settings = {}
    for pair in (vars .. "," .. (leg_vars or "")):gmatch("[^,]+") do
      local name, value = pair:match("^([^=]+)=(.*)$")
      if name then
        settings[name] = value
      end
    end
    local plan = (caller.dial or {})[(destination or "") .. "@" .. (context or "")] or
      (caller.dial or {})[destination or ""] or {}
    local entry = event("originate", { dial = dial, destination = destination, context = context, a_leg = a_leg ~= nil,
      ringback = channel.variables.ringback, settings = settings })
    local other = { up = false, answered = false, cause = nil, plan = plan, variables = settings }
    if plan.caller_hangs_up then
      -- as on the real FreeSWITCH: originate is cancelled at once, the caller's channel is down a moment later
      -- (here: at the script's next blocking call)
      clock_ms = clock_ms + 2000
      channel.pending_hangup = "ringing"
      other.cause = plan.cancel_cause or "NO_ANSWER" -- what 1.10.12 reported
    elseif plan.cause then
      if plan.cause == "NO_ANSWER" then
        clock_ms = clock_ms + 1000 * (tonumber(settings.leg_timeout or settings.originate_timeout) or 60)
      end
      other.cause = plan.cause
    elseif not destination then
      other.cause = "INVALID_NUMBER_FORMAT"
    else
      clock_ms = clock_ms + 1000
      other.up, other.answered, other.cause = true, true, "SUCCESS"
    end
    entry.answered, entry.cause = other.answered, other.cause
    local leg = { talk_ms = plan.talk_ms }
    function leg:ready()
      return other.up
    end
    function leg:answered()
      return other.answered
    end
    function leg:hangupCause()
      return other.cause
    end
    function leg:getVariable(name)
      return other.variables[name]
    end
    function leg:consoleLog(level, text)
      event("other_log", { destination = destination, level = level, text = text })
    end
    function leg:hangup(cause)
      if other.up then
        other.up = false
        other.cause = cause or "NORMAL_CLEARING"
        event("other_hangup", { destination = destination, cause = other.cause, by = "script" })
      end
    end
    function leg:playAndGetDigits(...)
      local n = "CoreSession::playAndGetDigits"
      local min, max, tries, timeout, terminators, audio, bad, regex = check_args(n, 8, 11, ...)
      want_int(n, 1, min)
      want_int(n, 2, max)
      want_int(n, 3, tries)
      want_int(n, 4, timeout)
      want_string(n, 5, terminators)
      audio = want_string(n, 6, audio)
      want_string(n, 7, bad)
      regex = want_string(n, 8, regex)
      if not other.up then
        return ""
      end
      local info, err = M.read_wav(audio)
      local heard = event("announce", { destination = destination, file = audio, ok = info ~= nil, error = err })
      if other.plan.hangs_up then
        other.up, other.cause = false, "NORMAL_CLEARING"
        heard.digits = ""
        return ""
      end
      local digits = other.plan.press or ""
      clock_ms = clock_ms + (info and info.duration_ms or 0) * (digits == "" and tries or 1) +
        (digits == "" and tries * timeout or 500)
      if digits ~= "" and not digits:match(regex) then
        digits = ""
      end
      heard.digits = digits
      return digits
    end
    if other.answered and settings.group_confirm_key == "exec" then
      local words = {}
      for word in (settings.group_confirm_file or ""):gmatch("%S+") do
        words[#words + 1] = word
      end
      local confirm = { app = words[1], script = words[2], args = { table.unpack(words, 3) } }
      entry.confirm = confirm
      local chunk, failure = nil, "not the lua app: " .. tostring(words[1])
      if words[1] == "lua" and words[2] then
        local script_env = setmetatable({ session = leg, freeswitch = fs, argv = confirm.args }, { __index = _G })
        -- mod_lua finds a relative script in its script directory (here: the checkout's scripts/)
        local path = words[2]:sub(1, 1) == "/" and words[2] or ((opts.script_directory or "scripts") .. "/" .. words[2])
        chunk, failure = loadfile(path, "t", script_env)
      end
      local ran = false
      if chunk then
        ran, failure = pcall(chunk)
      end
      confirm.ok, confirm.error = ran, not ran and tostring(failure) or nil
      if not other.up then -- declined: originate has no winner
        entry.answered, other.answered = false, false
        other.cause = "NORMAL_CLEARING"
      end
    end
    return leg
  end
  fs.Session = blocking(originate)

  --- freeswitch.bridge(a, b): connects both legs until one hangs up; here the person hangs up after `talk_ms`.
  function fs.bridge(a, b)
    if a ~= session or type(b) ~= "table" or not b.ready then
      event("error", { message = "freeswitch.bridge: not two sessions" })
      return
    end
    if not (ready() and b:ready()) then
      event("bridge", { ok = false })
      return
    end
    event("bridge", { ok = true, call_uuid = b:getVariable("voice_ai_call_uuid") })
    clock_ms = clock_ms + (b.talk_ms or 5000)
    b:hangup("NORMAL_CLEARING")
  end

  local Api = {}
  Api.__index = Api

  function Api:executeString(command)
    local name, args = tostring(command):match("^(%S+)%s*(.-)%s*$")
    return self:execute(name, args)
  end

  function Api:execute(name, args)
    event("api", { command = name, args = args })
    if name == "global_getvar" then
      return globals[args] or ""
    elseif name == "uuid_exists" then
      return (args == uuid and ready()) and "true" or "false"
    elseif name == "module_exists" then
      for _, loaded in ipairs(caller.modules or {}) do
        if loaded == args then
          return "true"
        end
      end
      return "false"
    elseif name == "uuid_setvar" then
      local target, variable, value = tostring(args):match("^(%S+)%s+(%S+)%s*(.-)$")
      if target ~= uuid or not ready() then
        return "-ERR No such channel!\n"
      end
      channel.variables[variable] = value ~= "" and value or nil
      return "+OK\n"
    elseif name == "uuid_break" or name == "uuid_audio_stream" then
      return ready() and "+OK Success\n" or "-ERR Operation Failed\n"
    end
    return "-ERR " .. tostring(name) .. " Command not found!\n"
  end

  function fs.API()
    return setmetatable({}, Api)
  end

  -- mod_lua: the session object is also a global named by the call uuid
  env[uuid] = session

  local emulator = { session = session, freeswitch = fs, transcript = transcript, channel = channel }

  --- The script the inline dialplan runs after a transfer XML could not route (nil when none is due); the
  --- channel is executing again, with its variables, for that script.
  function emulator.take_inline()
    if not inline and pending_department and pending_department.blind_transfer then
      -- the department took the call, then transferred it blind (sofia's REFER: no dialplan, no context)
      local department = pending_department
      pending_department = nil
      event("blind_transfer", { destination = department.blind_transfer })
      channel.transferred = false
      channel.state = "CS_EXECUTE"
      transfer_to(department.blind_transfer, nil, nil)
    end
    local script = inline
    inline = nil
    if script then
      do_hangup_hook()
      channel.transferred = false
      channel.state = "CS_EXECUTE"
      channel.hook, channel.callback, channel.hh, channel.mark = nil, nil, false, false
      event("inline", { script = script })
    end
    return script
  end

  --- What mod_lua does when the script returns: hang up unless it transferred (autoHangup).
  function emulator.finish()
    do_hangup_hook()
    if channel.state ~= "CS_HANGUP" and not channel.transferred and channel.auto_hangup then
      event("hangup", { cause = "NORMAL_CLEARING", by = "mod_lua (script ended)" })
      set_state("CS_HANGUP", "NORMAL_CLEARING")
    end
    if bug then
      close_bug(bug.speaking and "success-silence" or "no-input-timeout", "hangup")
    end
    transcript.final_state = channel.transferred and "transferred" or channel.state
    transcript.variables = channel.variables
    transcript.duration_ms = clock_ms
    return transcript
  end

  return emulator
end

return M
