-- The call flow through the real entry script (secretary_ai.lua) under the emulator, with the HTTP client
-- replaced by a scripted one (installed in package.loaded before the script requires it). The end-to-end
-- tests (tests/test_freeswitch_calls.py) run the same script against the real service.
local emulator = require("emulator")
local fake_client = require("fake_client")
local real_http = require("voice_ai.http")
local transfer = require("voice_ai.transfer")

local SOUNDS = "sounds/voice_ai"
local BLIND = { voice_ai_transfer_mode = "blind" } -- the one-way dialplan transfer (the no-route machinery)
local QUESTION = "spec/fixtures/question_price.wav"
local AUDIO = {
  ["http://svc/api/v1/audio/greeting.wav"] = SOUNDS .. "/pt-BR/greeting.wav",
  ["http://svc/api/v1/audio/reply.wav"] = SOUNDS .. "/pt-BR/transferring.wav",
}

local function merge(base, extra)
  local out = {}
  for k, v in pairs(base) do
    out[k] = v
  end
  for k, v in pairs(extra or {}) do
    out[k] = v
  end
  return out
end

local function started(extra)
  return merge({
    conversation_uuid = "conv-1", secretary_uuid = "sec-1", greeting_text = "Olá",
    greeting_audio_url = "http://svc/api/v1/audio/greeting.wav", language = "pt-BR", max_turns = 4,
    silence_threshold = 300, silence_seconds = 2, max_record_seconds = 15,
    operator_destination = "200", operator_context = "acme.example.com",
  }, extra)
end

local function turn(action, extra)
  return merge({
    turn = 1, transcript = "…", response_text = "…", action = action,
    audio_url = "http://svc/api/v1/audio/reply.wav", timings = { total_ms = 12 },
  }, extra)
end

local tmp_dir = os.tmpname()
os.remove(tmp_dir)
os.execute("mkdir -p " .. tmp_dir)

local counter = 0
local function run_call(opts)
  counter = counter + 1
  local fake = fake_client.new(merge({ audio = AUDIO }, opts.answers))
  package.loaded["voice_ai.callflow"] = nil
  package.loaded["voice_ai.http"] = { new = function() return fake end, multipart = real_http.multipart }
  local em = emulator.new({
    uuid = "spec-call-" .. counter,
    variables = merge({
      domain_uuid = "dom-1", domain_name = "acme.example.com", caller_id_number = "+5511999990000",
      destination_number = "8000", voice_ai_sounds_dir = SOUNDS, temp_dir = tmp_dir,
    }, opts.variables),
    caller = opts.caller,
  })
  fake.mark = function()
    return #em.transcript.events
  end
  if opts.callflow then -- a replacement call flow module (e.g. one whose constructor fails)
    package.loaded["voice_ai.callflow"] = opts.callflow
  end
  rawset(_G, "session", em.session)
  rawset(_G, "freeswitch", em.freeswitch)
  rawset(_G, "argv", opts.argv or { "8000" })
  local saved_path = package.path
  if opts.package_path then -- e.g. FreeSWITCH's stock lua.conf: our scripts folder is not on the path
    package.path = opts.package_path
    for name in pairs(package.loaded) do
      if name:match("^voice_ai%.") and name ~= "voice_ai.http" then
        package.loaded[name] = nil
      end
    end
  end
  local ok, err = pcall(dofile, opts.script or "scripts/secretary_ai.lua")
  package.path = saved_path
  local inline = ok and em.take_inline()
  while inline do -- a transfer did not route: FreeSWITCH runs the inline dialplan's script
    rawset(_G, "argv", {})
    ok, err = pcall(dofile, inline:sub(1, 1) == "/" and inline or ("scripts/" .. inline))
    inline = ok and em.take_inline()
  end
  local transcript = em.finish()
  package.loaded["voice_ai.http"] = real_http
  package.loaded["voice_ai.callflow"] = nil
  for _, name in ipairs({ "session", "freeswitch", "argv", "voice_ai_on_input", "voice_ai_on_hangup" }) do
    rawset(_G, name, nil)
  end
  assert(ok, err)
  return transcript, fake
end

local function ops(transcript, op)
  local found = {}
  for _, e in ipairs(transcript.events) do
    if e.op == op then
      found[#found + 1] = e
    end
  end
  return found
end

local function played(transcript)
  local names = {}
  for _, e in ipairs(ops(transcript, "playback")) do
    assert.is_true(e.ok, "not a playable WAV: " .. tostring(e.file) .. " " .. tostring(e.error))
    names[#names + 1] = e.file:match("voice_ai_[^_]+%-[^_]+_(%a+)_%d+%.wav$") or e.file:match("([%w_]+)%.wav$")
  end
  return names
end

local function last_event(transcript)
  local events = transcript.events
  for i = #events, 1, -1 do
    local e = events[i]
    if e.op == "transfer" or e.op == "hangup" then
      return e
    end
  end
end

describe("call flow", function()
  it("answers questions and ends with the farewell when the caller is done", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { turn("continue"), turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION }, { say = QUESTION } } },
    })
    assert.are.same({ "greeting", "reply", "reply" }, played(t))
    assert.are.equal(2, #ops(t, "record"))
    local turns = svc:made("turn")
    assert.are.equal(2, #turns)
    assert.are.equal("dom-1", turns[1].payload.domain_uuid)
    assert.are.equal("RIFF", turns[1].file.data:sub(1, 4))
    assert.are.equal("/api/v1/calls/spec-call-1/turns", turns[1].path)
    local hangup = last_event(t)
    assert.are.same({ "hangup", "script" }, { hangup.op, hangup.by })
    assert.are.equal("resolved", svc:made("end")[1].payload.outcome)
    assert.are.equal(0, #svc:made("events")) -- our own hangup is not reported as the caller's
    local start = svc:made("start")[1].payload
    assert.are.same({ "dom-1", "8000", "spec-call-1", "+5511999990000" },
      { start.domain_uuid, start.secretary, start.call_uuid, start.caller_id_number })
  end)

  it("blind mode: transfers to the destination the service chose, one way", function()
    local t, svc = run_call({ variables = BLIND,
      answers = {
        start = { started() }, ["end"] = { { outcome = "transferred" } },
        turn = { turn("transfer", { transfer = { destination = "203", context = "acme.example.com" } }) },
      },
      caller = { steps = { { say = QUESTION } } },
    })
    local last = last_event(t)
    assert.are.same({ "transfer", "203", "acme.example.com" }, { last.op, last.destination, last.context })
    assert.are.equal("transferred", t.final_state)
    assert.are.equal("transferred", svc:made("end")[1].payload.outcome)
  end)

  it("service down: apology from local sounds and the fallback destination", function()
    local t, svc = run_call({
      answers = {}, variables = { voice_ai_fallback_destination = "9000" },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.same({ "error_transfer" }, played(t))
    local last = last_event(t)
    assert.are.same({ "transfer", "9000", "acme.example.com" }, { last.op, last.destination, last.context })
    assert.are.equal(1, #svc.requests) -- nothing else is attempted against a dead service
  end)

  it("service down and no destination at all: apology and goodbye, never silence", function()
    local t = run_call({ answers = {}, caller = { steps = {} } })
    assert.are.same({ "error_goodbye" }, played(t))
    assert.are.equal("script", last_event(t).by)
  end)

  it("a failing turn (5xx) goes to the operator the service named, and is logged as an error", function()
    local t, svc = run_call({
      answers = {
        start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "error" } },
        turn = { { error = { kind = "http", status = 500, message = "HTTP 500: boom" } } },
      },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.same({ "greeting", "error_transfer" }, played(t))
    local last = last_event(t)
    assert.are.same({ "transfer", "200", "acme.example.com" }, { last.op, last.destination, last.context })
    assert.are.equal("error", svc:made("end")[1].payload.outcome)
    assert.matches("turn failed", svc:made("events")[1].payload.detail)
  end)

  it("a slow service (timeout) and a malformed answer fail over the same way", function()
    for _, failure in ipairs({
      { kind = "timeout", message = "no answer within 30s" }, { kind = "json", message = "malformed answer" },
    }) do
      local t, svc = run_call({
        answers = { start = { started() }, turn = { { error = failure } }, ["end"] = { { outcome = "error" } },
          events = { { stored = true } } },
        caller = { steps = { { say = QUESTION } } },
      })
      assert.are.same({ "greeting", "error_transfer" }, played(t))
      assert.are.equal("200", last_event(t).destination)
      if failure.kind == "timeout" then
        -- a service that timed out is not waited on again: no note, and /end gets a second at most
        assert.are.equal(0, #svc:made("events"))
        assert.are.equal(1, svc:made("end")[1].timeout)
      else
        assert.are.equal(1, #svc:made("events"))
      end
    end
  end)

  it("starts the call while it rings and answers once the service is ready", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.is_false(svc:made("start")[1].answered)
    assert.are.equal(1, #ops(t, "answer"))
  end)

  it("an unwritable temp folder is a configuration error, not a dropped call", function()
    local t, svc = run_call({
      answers = {}, variables = { temp_dir = "/nonexistent/voice-ai", voice_ai_fallback_destination = "9000" },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.equal(0, #svc.requests)
    assert.are.same({ "error_transfer" }, played(t))
    assert.are.equal("9000", last_event(t).destination)
  end)

  it("a transfer FreeSWITCH does not carry out falls back to the operator", function()
    local t = run_call({ variables = BLIND,
      answers = { start = { started() }, ["end"] = { { outcome = "transferred" } },
        turn = { turn("transfer", { transfer = { destination = "203", context = "acme.example.com" } }) } },
      caller = { steps = { { say = QUESTION } }, refuse_transfers = { "203" } },
    })
    assert.are.equal(1, #ops(t, "transfer_ignored"))
    assert.are.same({ "transfer", "200" }, { last_event(t).op, last_event(t).destination })
  end)

  it("refuses a destination that would be a flag of the transfer app", function()
    local t = run_call({
      answers = { start = { started() }, ["end"] = { { outcome = "error" } }, events = { { stored = true } },
        turn = { turn("transfer", { transfer = { destination = "-bleg", context = "acme.example.com" } }) } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.equal(0, #ops(t, "transfer_ignored"))
    assert.are.equal("200", last_event(t).destination)
  end)

  it("sends a caller id the service accepts, whatever the carrier sent", function()
    local _, svc = run_call({
      answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      variables = { caller_id_name = "Jos\233 " .. string.rep("\195\169", 300), caller_id_number = "+55 (11) 9999-0000;x" },
      caller = { steps = { { say = QUESTION } } },
    })
    local start = svc:made("start")[1].payload
    assert.are.equal("+55119999000", start.caller_id_number:sub(1, 12))
    assert.are.equal("Jos? ", start.caller_id_name:sub(1, 5))
    assert.are.equal(200, utf8.len(start.caller_id_name))
  end)

  it("bounds the recording settings whatever the service says", function()
    local t = run_call({
      answers = { start = { started({ max_record_seconds = 0, silence_threshold = 0, silence_seconds = 99 }) },
        turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION } } },
    })
    local record = ops(t, "record")[1]
    assert.are.same({ 2, 20, 10000, 2000 },
      { record.time_limit, record.silence_threshold, record.final_timeout_ms, record.initial_timeout_ms })
  end)

  it("plays a tone when even the local sounds are missing", function()
    local t = run_call({
      answers = {}, variables = { voice_ai_sounds_dir = "/nonexistent", voice_ai_fallback_destination = "9000" },
      caller = { steps = {} },
    })
    assert.matches("^tone_stream://", ops(t, "playback")[1].file)
    assert.are.equal("9000", last_event(t).destination)
  end)

  it("0 during the greeting goes straight to the operator", function()
    local t, svc = run_call({
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } } },
      caller = { playback = { { press = "0", at_ms = 500 } }, steps = { { say = QUESTION } } },
    })
    assert.are.same({ "greeting", "transferring" }, played(t))
    assert.are.equal(500, ops(t, "playback")[1].stopped_at_ms)
    assert.are.same({ "200", "acme.example.com", true }, { ops(t, "originate")[1].destination,
      ops(t, "originate")[1].context, ops(t, "bridge")[1].ok }) -- rung like a department: it may come back
    assert.are.equal(0, #ops(t, "record"))
    assert.are.equal("0", svc:made("events")[1].payload.digits)
    assert.are.equal("transferred", svc:made("end")[1].payload.outcome)
  end)

  it("0 while recording goes to the operator without sending the turn", function()
    local t, svc = run_call({
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } } },
      caller = { steps = { { say = QUESTION, press = "0", at_ms = 800 } } },
    })
    assert.are.equal("dtmf", ops(t, "record")[1].stopped_by)
    assert.are.equal("200", ops(t, "originate")[1].destination)
    assert.are.equal(0, #svc:made("turn"))
  end)

  it("0 when the operator does not answer: back with the secretary, and the call goes on", function()
    local t, svc = run_call({
      answers = { start = { started() }, events = { { stored = true } }, turn = { turn("hangup") },
        ["transfer-failed"] = { { response_text = "Nenhum atendente… Quer deixar um recado?", action = "continue",
          audio_url = "http://svc/api/v1/audio/reply.wav" } }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION, press = "0", at_ms = 800 }, { say = QUESTION } },
        dial = { ["200"] = { cause = "NO_ANSWER" } } },
    })
    assert.are.same({ "200", "acme.example.com", "NO_ANSWER" }, { svc:made("transfer-failed")[1].payload.destination,
      svc:made("transfer-failed")[1].payload.context, svc:made("transfer-failed")[1].payload.cause })
    assert.are.same({ "greeting", "transferring", "back", "reply" }, played(t))
    local turns = svc:made("turn")
    assert.are.equal(1, #turns) -- the recording cut by 0 was not sent; the next one was
    assert.are.equal("resolved", svc:made("end")[1].payload.outcome)
  end)

  it("* repeats the last reply; another key interrupts a prompt", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { turn("continue"), turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = {
        playback = { { press = "5", at_ms = 300 }, { press = "*", at_ms = 200 } },
        steps = { { say = QUESTION }, { say = QUESTION } },
      },
    })
    assert.are.same({ "greeting", "reply", "reply", "reply" }, played(t))
    local plays = ops(t, "playback")
    assert.are.equal(300, plays[1].stopped_at_ms)
    assert.are.equal(200, plays[2].stopped_at_ms)
    assert.are.equal(plays[2].file, plays[3].file)
    assert.are.equal(2, #svc:made("turn"))
  end)

  it("a caller who hangs up mid-turn is reported once, by the hangup hook", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { turn("continue") }, events = { { stored = true } } },
      caller = { steps = { { say = QUESTION }, { say = QUESTION, hangup_at_ms = 700 } } },
    })
    local events = svc:made("events")
    assert.are.equal(1, #events)
    assert.are.equal("caller_hangup", events[1].payload.event)
    assert.are.equal("during record", events[1].payload.detail)
    assert.are.equal(1, #svc:made("turn"))
    assert.are.equal(0, #svc:made("end")) -- caller_hangup ends the call on the service
    assert.are.equal("caller", ops(t, "caller_hangup")[1].during and "caller")
    assert.are.equal(1, #ops(t, "hangup_hook"))
    assert.are.equal(0, #ops(t, "hangup")) -- nobody hangs up a channel that is gone
  end)

  it("a caller who hangs up during the reply is reported too", function()
    local _, svc = run_call({
      answers = { start = { started() }, turn = { turn("continue") }, events = { { stored = true } } },
      caller = { playback = { [2] = { hangup_at_ms = 100 } }, steps = { { say = QUESTION }, { say = QUESTION } } },
    })
    assert.are.equal("during playback", svc:made("events")[1].payload.detail)
  end)

  it("ends politely if the service never ends the call", function()
    -- the service may run 13 turns past max_turns while it takes a message (message_taking.MAX_CAPTURE_TURNS)
    local steps = {}
    for _ = 1, 20 do
      steps[#steps + 1] = { say = QUESTION }
    end
    local t, svc = run_call({
      answers = { start = { started({ max_turns = 2 }) }, turn = { turn("continue") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = steps },
    })
    assert.are.equal(2 + 13 + 1, #svc:made("turn"))
    assert.are.equal("goodbye", played(t)[#played(t)])
    assert.are.equal("script", last_event(t).by)
  end)

  it("refuses a transfer target that is not a plain dialplan token", function()
    local t = run_call({
      answers = {
        start = { started() }, ["end"] = { { outcome = "error" } }, events = { { stored = true } },
        turn = { turn("transfer", { transfer = { destination = "203 XML evil", context = "acme.example.com" } }) },
      },
      caller = { steps = { { say = QUESTION } } },
    })
    local last = last_event(t)
    assert.are.same({ "200", "acme.example.com" }, { last.destination, last.context })
  end)

  it("a reply the service could not speak goes to a person", function()
    local t = run_call({
      answers = { start = { started() }, turn = { turn("continue", { audio_url = false }) }, ["end"] = { { outcome = "error" } },
        events = { { stored = true } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.same({ "greeting", "error_transfer" }, played(t))
    assert.are.equal("200", last_event(t).destination)
  end)

  it("plays the local greeting when the service has no greeting audio", function()
    local t = run_call({
      answers = { start = { started({ greeting_audio_url = false }) }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.same({ "greeting", "reply" }, played(t))
    assert.matches("/pt%-BR/greeting%.wav$", ops(t, "playback")[1].file)
  end)

  it("speaks English local sounds on an English secretary", function()
    local t = run_call({
      answers = { start = { started({ language = "en-US" }) }, turn = { { error = { kind = "connect", message = "x" } } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.matches("/en%-US/error_transfer%.wav$", ops(t, "playback")[2].file)
  end)

  it("a call the service already ended gets the goodbye", function()
    local t = run_call({
      answers = { start = { started() }, turn = { { error = { kind = "http", status = 409, message = "ended" } } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.same({ "greeting", "goodbye" }, played(t))
    assert.are.equal("script", last_event(t).by)
  end)

  it("a missing domain_uuid is a configuration error that still reaches a person", function()
    local t, svc = run_call({
      answers = {}, variables = { domain_uuid = "_undef_", voice_ai_fallback_destination = "9000" },
      caller = { steps = {} },
    })
    assert.are.equal(0, #svc.requests)
    assert.are.equal("9000", last_event(t).destination)
    local logged = false
    for _, line in ipairs(t.logs) do
      logged = logged or (line.level == "ERR" and line.text:match("domain_uuid") ~= nil)
    end
    assert.is_true(logged)
  end)

  it("sends the recording's path instead of its bytes when asked to", function()
    local _, svc = run_call({
      answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      variables = { voice_ai_audio_path = "true" },
      caller = { steps = { { say = QUESTION } } },
    })
    local fields = svc:made("turn")[1].payload
    assert.is_nil(svc:made("turn")[1].file)
    assert.matches("^" .. tmp_dir:gsub("%p", "%%%0") .. "/voice_ai_spec%-call%-%d+_rec_1%.wav$", fields.audio_path)
  end)

  it("a bug in the flow still hands the caller to a person", function()
    local t = run_call({
      answers = { start = { started() }, turn = function() error("unexpected!") end, ["end"] = { { outcome = "error" } },
        events = { { stored = true } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.equal("200", last_event(t).destination)
    local logged = false
    for _, line in ipairs(t.logs) do
      logged = logged or (line.level == "CRIT" and line.text:match("unexpected!") ~= nil)
    end
    assert.is_true(logged)
  end)

  it("waits for speech to start: a pause longer than the silence setting is not an empty turn", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION, pause_ms = 3000 } } },
    })
    local record = ops(t, "record")[1]
    assert.are.same({ "record_session", "success-silence" }, { record.mode, record.completion_cause })
    local upload = svc:made("turn")[1]
    assert.is_nil(upload.payload.text)
    local wav = emulator.read_wav(QUESTION)
    -- the pause, the whole question and the end-of-speech silence are in the one recording
    assert.is_true((#upload.file.data - 44) / 16 >= 3000 + wav.duration_ms)
  end)

  it("a caller who sends no audio at all makes a silent turn: text=\"\"", function()
    for _, step in ipairs({ { quiet = true }, { silence = true } }) do
      local t, svc = run_call({
        answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
        caller = { steps = { step } },
      })
      assert.are.equal("no-input-timeout", ops(t, "record")[1].completion_cause)
      local upload = svc:made("turn")[1]
      assert.are.equal("", upload.payload.text)
      assert.is_nil(upload.file)
      assert.are.same({ "greeting", "reply" }, played(t))
    end
  end)

  it("# ends the caller's turn at once", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION, press = "#", at_ms = 1500 } } },
    })
    assert.are.equal("dtmf", ops(t, "record")[1].stopped_by)
    assert.are.equal(1, #svc:made("turn"))
    assert.is_nil(svc:made("turn")[1].payload.text)
  end)

  it("a transfer that does not route sends the caller to the operator and tells the service the truth", function()
    local t, svc = run_call({ variables = BLIND,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } },
        turn = { turn("transfer", { transfer = { destination = "203", context = "nowhere" } }) } },
      caller = { steps = { { say = QUESTION } }, unrouted = { "@nowhere" } },
    })
    local transfers = ops(t, "transfer")
    assert.are.same({ "203", "nowhere", false }, { transfers[1].destination, transfers[1].context, transfers[1].routed })
    assert.matches("^XML,inline:lua:.*voice_ai_no_route%.lua$", transfers[1].dialplan)
    assert.are.same({ "transfer", "200", "acme.example.com" }, { last_event(t).op, last_event(t).destination,
      last_event(t).context })
    assert.are.equal("transferred", t.final_state)
    assert.are.same({ "greeting", "reply", "error_transfer" }, played(t))
    local failed = svc:made("events")[1].payload
    assert.are.same({ "transfer_failed", "203", "nowhere", "NO_ROUTE_DESTINATION" },
      { failed.event, failed.destination, failed.context, failed.detail })
    local ends = svc:made("end")
    assert.are.equal(2, #ends)
    assert.are.same({ "transferred", "203", "nowhere" }, { ends[1].payload.outcome, ends[1].payload.destination,
      ends[1].payload.context })
    assert.are.same({ "transferred", "200", "acme.example.com" }, { ends[2].payload.outcome,
      ends[2].payload.destination, ends[2].payload.context })
  end)

  it("when the operator does not route either: apology, hangup, outcome error, and no loop", function()
    local t, svc = run_call({ variables = BLIND,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "x" } },
        turn = { turn("transfer", { transfer = { destination = "203", context = "nowhere" } }) } },
      caller = { steps = { { say = QUESTION } }, unrouted = { "@nowhere", "200" } },
    })
    assert.are.equal(2, #ops(t, "transfer"))
    assert.are.same({ "greeting", "reply", "error_transfer", "error_goodbye" }, played(t))
    assert.are.same({ "hangup", "script" }, { last_event(t).op, last_event(t).by })
    assert.are.equal(2, #svc:made("events"))
    local ends = svc:made("end")
    assert.are.same({ "transferred", "transferred", "error" },
      { ends[1].payload.outcome, ends[2].payload.outcome, ends[3].payload.outcome })
  end)

  local function transfer_to(destination, context)
    return turn("transfer", { transfer = { destination = destination, context = context, department = "Financeiro" } })
  end

  local function logged(transcript, pattern)
    for _, line in ipairs(transcript.logs) do
      if line.text:match(pattern) then
        return true
      end
    end
    return false
  end

  local PLAIN = "acme.example.com"
  -- a plain FreeSWITCH context: always-matching continue="true" extensions first, the guard last
  local function plain_context(extra)
    return merge({ continue_contexts = { PLAIN }, guards = { [PLAIN] = "voice_ai_no_route.lua" },
      steps = { { say = QUESTION } } }, extra)
  end

  it("in a context of continue extensions, the guard sends a transfer that does not route to the operator", function()
    local t, svc = run_call({ variables = BLIND,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } },
        turn = { transfer_to("2099", PLAIN) } },
      caller = plain_context({ unrouted = { "2099" } }),
    })
    assert.are.equal(1, #ops(t, "no_route"))
    assert.are.equal("voice_ai_no_route.lua", ops(t, "no_route")[1].guard)
    assert.are.same({ "transfer", "200", PLAIN }, { last_event(t).op, last_event(t).destination, last_event(t).context })
    assert.are.equal("transferred", t.final_state)
    assert.are.same({ "greeting", "reply", "error_transfer" }, played(t))
    assert.are.same({ "transfer_failed", "2099" }, { svc:made("events")[1].payload.event,
      svc:made("events")[1].payload.destination })
    assert.are.equal("200", svc:made("end")[2].payload.destination)
  end)

  it("without the guard such a context ends the call in silence (FreeSWITCH's behaviour the guard exists for)", function()
    local t = run_call({ variables = BLIND,
      answers = { start = { started() }, ["end"] = { { outcome = "transferred" } }, turn = { transfer_to("2099", PLAIN) } },
      caller = plain_context({ unrouted = { "2099" }, guards = {} }),
    })
    assert.is_true(ops(t, "no_route")[1].continue_only)
    assert.are.same({ "CS_HANGUP", "NORMAL_CLEARING" }, { t.final_state, t.variables.hangup_cause })
  end)

  it("the guard matches the pending destination literally, whatever characters it has", function()
    for _, destination in ipairs({ "+5531*9.9#1", "ops_1@x-y" }) do
      local t = run_call({ variables = BLIND,
        answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } },
          turn = { transfer_to(destination, PLAIN) } },
        caller = plain_context({ unrouted = { destination } }),
      })
      assert.are.equal("voice_ai_no_route.lua", ops(t, "no_route")[1].guard, destination)
      assert.are.equal(0, #ops(t, "regex_error"))
      assert.are.equal("200", last_event(t).destination)
    end
  end)

  it("the guard does not fire for a destination that routes, nor for another number that does not", function()
    local t, svc = run_call({ variables = BLIND,
      answers = { start = { started() }, ["end"] = { { outcome = "transferred" } }, turn = { transfer_to("203", PLAIN) } },
      caller = plain_context({ unrouted = { "2099" }, departments = { ["203"] = { blind_transfer = "2099" } } }),
    })
    local transfers = ops(t, "transfer")
    assert.are.same({ "203", "2099" }, { transfers[1].destination, transfers[2].destination })
    assert.is_nil(transfers[1].routed)
    assert.is_nil(ops(t, "no_route")[1].guard) -- 2099 is not the pending 203: only the continue extensions ran
    assert.are.equal(0, #svc:made("events"))
    assert.are.equal(1, #svc:made("end"))
  end)

  it("a blind transfer by the department after ours uses XML only: our no-route script stays out of it", function()
    local t, svc = run_call({ variables = BLIND,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } },
        turn = { transfer_to("203", PLAIN) } },
      caller = { steps = { { say = QUESTION } }, unrouted = { "2099" }, departments = { ["203"] = { blind_transfer = "2099" } } },
    })
    local transfers = ops(t, "transfer")
    assert.are.equal(2, #transfers)
    assert.are.same({ "2099", "XML", PLAIN }, { transfers[2].destination, transfers[2].dialplan, transfers[2].context })
    assert.are.same({ "CS_HANGUP", "NO_ROUTE_DESTINATION" }, { t.final_state, t.variables.hangup_cause })
    assert.are.equal(0, #ops(t, "inline"))
    assert.are.equal(0, #svc:made("events")) -- the conversation the secretary closed is not re-opened
    assert.are.same({ "transferred", "203" }, { svc:made("end")[1].payload.outcome, svc:made("end")[1].payload.destination })
    assert.are.equal(1, #svc:made("end"))
  end)

  it("the no-route script leaves alone a transfer that is not the call flow's", function()
    local t, svc = run_call({
      script = "scripts/voice_ai_no_route.lua", answers = { events = { { stored = true } } },
      variables = { transfer_source = "1764500000:spec-call:bl_xfer:2099/" .. PLAIN .. "/XML,inline:lua:x.lua",
        context = PLAIN, voice_ai_transfer_destination = "203",
        voice_ai_transfer_context = PLAIN, voice_ai_call_started = "true", voice_ai_conversation_uuid = "conv-1",
        voice_ai_operator_destination = "200", voice_ai_operator_context = PLAIN },
      caller = { steps = {} },
    })
    assert.are.equal(0, #svc.requests)
    assert.are.equal(0, #ops(t, "transfer"))
    assert.are.same({ "hangup", "NO_ROUTE_DESTINATION" }, { last_event(t).op, last_event(t).cause })
    assert.is_true(logged(t, "not the call flow's transfer"))
  end)

  it("tells the caller first, then the service: the apology plays before transfer_failed is posted", function()
    local t, svc = run_call({ variables = BLIND,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } },
        turn = { transfer_to("203", "nowhere") } },
      caller = { steps = { { say = QUESTION } }, unrouted = { "@nowhere" } },
    })
    local apology
    for index, event in ipairs(t.events) do
      if event.op == "playback" and event.file:match("error_transfer%.wav$") then
        apology = index
      end
    end
    assert.is_true(apology <= svc:made("events")[1].at, tostring(apology) .. " " .. tostring(svc:made("events")[1].at))
  end)

  it("a service the first script found down is not waited on again after a transfer that did not route", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { { error = { kind = "timeout", message = "no answer" } } },
        events = { { stored = true } }, ["end"] = { { outcome = "error" } } },
      caller = { steps = { { say = QUESTION } }, unrouted = { "200" } },
    })
    assert.are.same({ "greeting", "error_transfer", "error_goodbye" }, played(t))
    assert.are.equal(0, #svc:made("events")) -- no note, no transfer_failed: the service is down
    for _, ended in ipairs(svc:made("end")) do
      assert.are.equal(1, ended.timeout)
    end
  end)

  it("a fall-back after an error stores where the caller went, like a transfer", function()
    local _, svc = run_call({
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "error" } },
        turn = { { error = { kind = "http", status = 500, message = "HTTP 500: boom" } } } },
      caller = { steps = { { say = QUESTION } } },
    })
    local ended = svc:made("end")[1].payload
    assert.are.same({ "error", "200", "acme.example.com" }, { ended.outcome, ended.destination, ended.context })
  end)

  it("each transfer sets every variable the no-route script reads: none is left from an earlier pass", function()
    local t = run_call({
      answers = {}, caller = { steps = {} },
      variables = { voice_ai_fallback_destination = "9000", voice_ai_conversation_uuid = "stale-conv",
        voice_ai_operator_destination = "stale-op", voice_ai_service_down = "true" },
    })
    assert.are.equal("9000", last_event(t).destination)
    assert.is_nil(t.variables.voice_ai_conversation_uuid) -- the call never started this time
    assert.are.equal("9000", t.variables.voice_ai_operator_destination)
    assert.are.equal("true", t.variables.voice_ai_service_down) -- the start failed to connect: down again
    local t2 = run_call({
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } } },
      caller = { playback = { { press = "0", at_ms = 500 } }, steps = {} },
      variables = { voice_ai_service_down = "true", voice_ai_transfer_mode = "blind" },
    })
    assert.is_nil(t2.variables.voice_ai_service_down)
    assert.are.equal("conv-1", t2.variables.voice_ai_conversation_uuid)
  end)

  it("a recording FreeSWITCH cannot write (uri-failure) is a configuration error: the operator, not silent turns",
    function()
      local t, svc = run_call({
        answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "error" } },
          turn = { turn("continue"), turn("continue") } },
        caller = { steps = { { say = QUESTION, record_fails = true }, { say = QUESTION } } },
      })
      assert.are.equal("uri-failure", ops(t, "record")[1].completion_cause)
      assert.are.equal(0, #svc:made("turn"))
      assert.are.same({ "greeting", "error_transfer" }, played(t))
      assert.are.equal("200", last_event(t).destination)
      assert.is_true(logged(t, "cannot write"))
      assert.are.equal("error", svc:made("end")[1].payload.outcome)
    end)

  it("key 0 stores where the caller went (the operator) with the end", function()
    local _, svc = run_call({
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } } },
      caller = { playback = { { press = "0", at_ms = 500 } }, steps = {} },
    })
    local ended = svc:made("end")[1].payload
    assert.are.same({ "transferred", "200", "acme.example.com" }, { ended.outcome, ended.destination, ended.context })
  end)

  it("logs through the session, so FreeSWITCH ties the lines to the call", function()
    local t = run_call({
      answers = { start = { started() }, turn = { turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.is_true(#t.logs > 3)
    for _, line in ipairs(t.logs) do
      assert.are.equal("session", line.via, line.text)
    end
  end)

  it("removes its temporary files", function()
    run_call({
      answers = { start = { started() }, turn = { turn("continue"), turn("hangup") }, ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION }, { say = QUESTION } } },
    })
    local listing = io.popen("ls " .. tmp_dir):read("*a")
    assert.are.equal("", listing)
  end)
end)

describe("transfers that come back", function()
  local BACK = "http://svc/api/v1/audio/back.wav"
  local ANNOUNCE = "http://svc/api/v1/audio/announce.wav"
  AUDIO[BACK] = SOUNDS .. "/pt-BR/error_transfer.wav"
  AUDIO[ANNOUNCE] = SOUNDS .. "/pt-BR/transferring.wav"

  local function to_financeiro(extra)
    return turn("transfer", { transfer = merge({ destination = "203", context = "acme.example.com",
      department = "Financeiro", ring_seconds = 30, announce = false }, extra) })
  end

  local function back()
    return { response_text = "O setor Financeiro não atendeu. Quer deixar um recado?", action = "continue",
      audio_url = BACK }
  end

  local function index_of(transcript, op)
    for index, e in ipairs(transcript.events) do
      if e.op == op then
        return index
      end
    end
  end

  it("rings the department for the rule's time; who answers gets the caller, after the end is reported", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { to_financeiro({ ring_seconds = 12 }) },
        ["end"] = { { outcome = "transferred" } } },
      variables = { caller_id_name = "Maria, {x}" },
      caller = { steps = { { say = QUESTION } } },
    })
    local dialled = ops(t, "originate")
    assert.are.equal(1, #dialled)
    local o = dialled[1]
    assert.are.same({ "203", "acme.example.com", true, true }, { o.destination, o.context, o.a_leg, o.answered })
    assert.are.same({ "12", "true", "+5511999990000", "Maria x", "dom-1" }, {
      o.settings.originate_timeout, o.settings.ignore_early_media, o.settings.origination_caller_id_number,
      o.settings.origination_caller_id_name, o.settings.domain_uuid })
    assert.matches("^spec%-call%-%d+$", o.settings.voice_ai_call_uuid) -- the department's leg names the call
    assert.are.equal("%(1000,4000,425)", o.ringback) -- the caller hears it ring
    assert.are.equal(0, #ops(t, "transfer")) -- no blind transfer: the script stays with the call
    local ended = svc:made("end")
    assert.are.equal(1, #ended)
    assert.are.same({ "transferred", "203", "acme.example.com" }, { ended[1].payload.outcome,
      ended[1].payload.destination, ended[1].payload.context })
    assert.is_true(ended[1].at < index_of(t, "bridge")) -- stored before the conversation with the person
    assert.is_true(ops(t, "bridge")[1].ok)
    assert.are.same({ "hangup", "script" }, { last_event(t).op, last_event(t).by }) -- the person hung up first
    assert.are.equal(0, #svc:made("events")) -- neither the bridge nor our hang-up is the caller's hangup
    assert.are.equal(0, #svc:made("transfer-failed"))
  end)

  it("nobody answers: back with the secretary, who says so and offers a message; the call goes on", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { to_financeiro(), turn("hangup") }, ["transfer-failed"] = { back() },
        ["end"] = { { outcome = "resolved" } } },
      caller = { steps = { { say = QUESTION }, { say = QUESTION } }, dial = { ["203"] = { cause = "NO_ANSWER" } } },
    })
    assert.are.equal("30", ops(t, "originate")[1].settings.originate_timeout)
    local failed = svc:made("transfer-failed")
    assert.are.equal(1, #failed)
    assert.are.same({ "dom-1", "203", "acme.example.com", "NO_ANSWER" }, { failed[1].payload.domain_uuid,
      failed[1].payload.destination, failed[1].payload.context, failed[1].payload.cause })
    assert.are.same({ "greeting", "reply", "back", "reply" }, played(t))
    assert.are.equal(2, #svc:made("turn")) -- the caller answered the offer in the next turn
    assert.are.equal(0, #ops(t, "bridge"))
    assert.are.same({ "resolved" }, { svc:made("end")[1].payload.outcome })
    assert.are.equal(1, #svc:made("end"))
  end)

  it("reports FreeSWITCH's cause as it is: busy, rejected, no route, unallocated", function()
    for _, cause in ipairs({ "USER_BUSY", "CALL_REJECTED", "NO_ROUTE_DESTINATION", "UNALLOCATED_NUMBER" }) do
      local t, svc = run_call({
        answers = { start = { started() }, turn = { to_financeiro(), turn("hangup") }, ["transfer-failed"] = { back() },
          ["end"] = { { outcome = "resolved" } } },
        caller = { steps = { { say = QUESTION }, { say = QUESTION } }, dial = { ["203@acme.example.com"] = { cause = cause } } },
      })
      assert.are.equal(cause, svc:made("transfer-failed")[1].payload.cause)
      assert.are.same({ "greeting", "reply", "back", "reply" }, played(t))
    end
  end)

  it("an announced transfer: the person hears who is calling, presses 1 and gets the caller", function()
    local t, svc = run_call({
      answers = { start = { started() }, turn = { to_financeiro({ announce = true }) },
        announcement = { { text = "Ligação de Maria", audio_url = ANNOUNCE } }, ["end"] = { { outcome = "transferred" } } },
      caller = { steps = { { say = QUESTION } }, dial = { ["203"] = { press = "1" } } },
    })
    assert.are.equal(1, #svc:made("announcement"))
    -- played by originate's group confirm on the answered leg (the caller keeps hearing the ringback)
    local o = ops(t, "originate")[1]
    local line = transfer.confirm_seconds(AUDIO[ANNOUNCE]) -- the line the call fetched
    assert.are.same({ "exec", tostring(line), "30", tostring(30 + line) }, { o.settings.group_confirm_key,
      o.settings.group_confirm_timeout, o.settings.leg_timeout, o.settings.originate_timeout })
    assert.are.same({ "lua", "voice_ai_announce.lua" }, { o.confirm.app, o.confirm.script })
    assert.matches("^spec%-call%-%d+$", o.confirm.args[2]) -- the caller's channel, which the script marks
    assert.is_true(o.confirm.ok, o.confirm.error)
    assert.is_true(line > 2 * 5 and line < 60) -- the line twice and 5 s after each, read from the WAV
    local heard = ops(t, "announce")
    assert.are.equal(1, #heard)
    assert.are.same({ true, "1" }, { heard[1].ok, heard[1].digits })
    assert.are.equal("answered", t.variables.voice_ai_announce)
    assert.is_true(ops(t, "bridge")[1].ok)
    assert.are.equal("transferred", svc:made("end")[1].payload.outcome)
  end)

  it("an announced transfer the person declines (no key, another key, a hang-up) brings the caller back", function()
    for _, plan in ipairs({ {}, { press = "2" }, { hangs_up = true } }) do
      local t, svc = run_call({
        answers = { start = { started() }, turn = { to_financeiro({ announce = true }), turn("hangup") },
          announcement = { { text = "Ligação de Maria", audio_url = ANNOUNCE } }, ["transfer-failed"] = { back() },
          ["end"] = { { outcome = "resolved" } } },
        caller = { steps = { { say = QUESTION }, { say = QUESTION } }, dial = { ["203"] = plan } },
      })
      assert.are.equal(0, #ops(t, "bridge"))
      assert.are.equal("DECLINED", svc:made("transfer-failed")[1].payload.cause)
      if not plan.hangs_up then
        assert.are.equal("CALL_REJECTED", ops(t, "other_hangup")[1].cause) -- we hang up on the person
      end
      assert.are.same({ "greeting", "reply", "back", "reply" }, played(t))
    end
  end)

  it("an announcement the service cannot make: the transfer goes on unannounced", function()
    local t = run_call({
      answers = { start = { started() }, turn = { to_financeiro({ announce = true }) },
        announcement = { { error = { kind = "http", status = 500, message = "HTTP 500" } } },
        ["end"] = { { outcome = "transferred" } } },
      caller = { steps = { { say = QUESTION } } },
    })
    assert.are.equal(0, #ops(t, "announce"))
    assert.is_nil(ops(t, "originate")[1].settings.group_confirm_key)
    assert.is_nil(ops(t, "originate")[1].settings.leg_timeout)
    assert.is_true(ops(t, "bridge")[1].ok)
  end)

  it("a caller who hangs up while it rings is reported once, and nothing is connected", function()
    for _, cause in ipairs({ "NO_ANSWER", "ORIGINATOR_CANCEL" }) do
      local t, svc = run_call({
        answers = { start = { started() }, turn = { to_financeiro() }, events = { { stored = true } } },
        caller = { steps = { { say = QUESTION } }, dial = { ["203"] = { caller_hangs_up = true, cancel_cause = cause } } },
      })
      assert.are.equal(0, #ops(t, "bridge"))
      assert.are.equal(0, #svc:made("transfer-failed"))
      local events = svc:made("events")
      assert.are.same({ 1, "caller_hangup", "during ringing" }, { #events, events[1].payload.event,
        events[1].payload.detail })
    end
  end)

  it("a service that cannot take the caller back hands them to the operator; never the one who did not answer",
    function()
      local t, svc = run_call({
        answers = { start = { started() }, turn = { to_financeiro() }, events = { { stored = true } },
          ["transfer-failed"] = { { error = { kind = "http", status = 500, message = "HTTP 500" } } },
          ["end"] = { { outcome = "error" } } },
        caller = { steps = { { say = QUESTION } }, dial = { ["203"] = { cause = "USER_BUSY" } } },
      })
      assert.are.same({ "greeting", "reply", "error_transfer" }, played(t))
      assert.are.same({ "transfer", "200" }, { last_event(t).op, last_event(t).destination })
      assert.are.equal("error", svc:made("end")[1].payload.outcome)
      -- the operator is who did not answer: the apology and the end, not the same operator again
      local t2, svc2 = run_call({
        answers = { start = { started() }, turn = { turn("transfer", { transfer = { destination = "200",
          context = "acme.example.com", ring_seconds = 30 } }) },
          ["transfer-failed"] = { { error = { kind = "timeout", message = "no answer" } } },
          ["end"] = { { outcome = "error" } } },
        caller = { steps = { { say = QUESTION } }, dial = { ["200"] = { cause = "NO_ANSWER" } } },
      })
      assert.are.same({ "greeting", "reply", "error_goodbye" }, played(t2))
      assert.are.same({ "hangup", "script" }, { last_event(t2).op, last_event(t2).by })
      assert.are.equal("error", svc2:made("end")[1].payload.outcome)
    end)

  it("bounds the ring time whatever the service says", function()
    for given, expected in pairs({ [1000] = "120", [1] = "5", ["x"] = "30" }) do
      local t = run_call({
        answers = { start = { started() }, turn = { to_financeiro({ ring_seconds = given }) },
          ["end"] = { { outcome = "transferred" } } },
        caller = { steps = { { say = QUESTION } } },
      })
      assert.are.equal(expected, ops(t, "originate")[1].settings.originate_timeout)
    end
  end)
end)

describe("entry script", function()
  local stock_path = package.path:gsub("[^;]*scripts/%?%.lua;?", "")
  local function install_copy(without)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. " && cp -r scripts/. " .. dir))
    if without then
      os.remove(dir .. "/" .. without)
    end
    return dir
  end

  it("finds its modules next to itself with FreeSWITCH's stock lua.conf (no script-directory)", function()
    local dir = install_copy()
    local t, svc = run_call({ variables = BLIND,
      script = dir .. "/secretary_ai.lua", package_path = stock_path,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } } },
      caller = { playback = { { press = "0", at_ms = 500 } }, steps = {} },
    })
    assert.are.equal(1, #svc:made("start"))
    assert.are.same({ "transfer", "200" }, { last_event(t).op, last_event(t).destination })
    os.execute("rm -rf " .. dir)
  end)

  it("a call flow that does not load still hands the caller to the fallback, with the apology", function()
    local dir = install_copy("voice_ai/callflow.lua")
    local t, svc = run_call({
      script = dir .. "/secretary_ai.lua", package_path = stock_path, answers = {},
      variables = { voice_ai_fallback_destination = "9000" }, caller = { steps = {} },
    })
    assert.are.equal(0, #svc.requests)
    assert.are.same({ "error_transfer" }, played(t))
    assert.are.same({ "transfer", "9000", "acme.example.com" }, { last_event(t).op, last_event(t).destination,
      last_event(t).context })
    local logged = false
    for _, line in ipairs(t.logs) do
      logged = logged or (line.text:match("the call flow did not load") ~= nil and line.via == "session")
    end
    assert.is_true(logged)
    os.execute("rm -rf " .. dir)
  end)

  it("a call flow that fails to start (its constructor raises) still reaches the fallback, with the apology", function()
    local broken = { new = function() error("cannot build the call") end }
    local t = run_call({ callflow = broken, answers = {}, variables = { voice_ai_fallback_destination = "9000" },
      caller = { steps = {} } })
    assert.are.same({ "error_transfer" }, played(t))
    assert.are.same({ "transfer", "9000", "acme.example.com" }, { last_event(t).op, last_event(t).destination,
      last_event(t).context })
  end)

  it("a no-route script whose call flow fails still apologises, and never retries what did not route", function()
    local broken = { resume = function() error("cannot resume the call") end }
    local variables = { transfer_source = "1764500000:spec-call:bl_xfer:203/acme.example.com/XML", context = "acme.example.com",
      voice_ai_transfer_destination = "203", voice_ai_transfer_context = "acme.example.com" }
    local t = run_call({ callflow = broken, script = "scripts/voice_ai_no_route.lua", answers = {},
      variables = merge(variables, { voice_ai_fallback_destination = "9000" }), caller = { steps = {} } })
    assert.are.same({ "error_transfer" }, played(t))
    assert.are.same({ "transfer", "9000" }, { last_event(t).op, last_event(t).destination })
    local t2 = run_call({ callflow = broken, script = "scripts/voice_ai_no_route.lua", answers = {},
      variables = merge(variables, { voice_ai_fallback_destination = "203" }), caller = { steps = {} } })
    assert.are.same({ "error_goodbye" }, played(t2))
    assert.are.equal("hangup", last_event(t2).op)
  end)

  it("a missing rescue.lua does not stop the call flow (only the last resort needs it)", function()
    local dir = install_copy("voice_ai/rescue.lua")
    local t, svc = run_call({ variables = BLIND,
      script = dir .. "/secretary_ai.lua", package_path = stock_path,
      answers = { start = { started() }, events = { { stored = true } }, ["end"] = { { outcome = "transferred" } } },
      caller = { playback = { { press = "0", at_ms = 500 } }, steps = {} },
    })
    assert.are.equal(1, #svc:made("start"))
    assert.are.same({ "transfer", "200" }, { last_event(t).op, last_event(t).destination })
    os.execute("rm -rf " .. dir)
  end)

  it("the last resort checks the fallback context too", function()
    local dir = install_copy("voice_ai/callflow.lua")
    local t = run_call({ script = dir .. "/secretary_ai.lua", package_path = stock_path, answers = {},
      variables = { voice_ai_fallback_destination = "9000", voice_ai_fallback_context = "evil context" },
      caller = { steps = {} } })
    assert.are.same({ "error_goodbye" }, played(t))
    assert.are.equal(0, #ops(t, "transfer"))
    os.execute("rm -rf " .. dir)
  end)

  it("without a fallback destination the caller still hears the apology before the call ends", function()
    local dir = install_copy("voice_ai/callflow.lua")
    local t = run_call({ script = dir .. "/secretary_ai.lua", package_path = stock_path, answers = {},
      caller = { steps = {} } })
    assert.are.same({ "error_goodbye" }, played(t))
    assert.are.same({ "hangup", "script" }, { last_event(t).op, last_event(t).by })
    os.execute("rm -rf " .. dir)
  end)
end)
