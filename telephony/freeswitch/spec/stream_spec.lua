-- Streaming mode through the real entry script (secretary_ai.lua) under the emulator: the module check, the
-- hand-over to the service's event socket, and the way back (the rescue path) when the service lets go of a call
-- it did not end. The real thing: tests/test_real_freeswitch_stream.py.
local emulator = require("emulator")

local SOUNDS = "sounds/voice_ai"

local counter = 0
local function run(opts)
  counter = counter + 1
  local variables = {
    domain_uuid = "dom-1", domain_name = "acme.example.com", voice_ai_sounds_dir = SOUNDS,
    voice_ai_fallback_destination = "200", voice_ai_mode = "stream",
  }
  for k, v in pairs(opts.variables or {}) do
    variables[k] = v
  end
  local em = emulator.new({ uuid = "stream-call-" .. counter, variables = variables, caller = opts.caller })
  local turn_based = false
  package.loaded["voice_ai.callflow"] = {
    new = function()
      turn_based = true
      return { run = function() end, on_input = function() end, on_hangup = function() end }
    end,
  }
  package.loaded["voice_ai.stream"] = nil
  rawset(_G, "session", em.session)
  rawset(_G, "freeswitch", em.freeswitch)
  rawset(_G, "argv", { "8000" })
  local ok, err = pcall(dofile, "scripts/secretary_ai.lua")
  local transcript = em.finish()
  package.loaded["voice_ai.callflow"] = nil
  for _, name in ipairs({ "session", "freeswitch", "argv", "voice_ai_on_input", "voice_ai_on_hangup" }) do
    rawset(_G, name, nil)
  end
  assert(ok, err)
  return transcript, turn_based, em
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

local function apis(transcript)
  local found = {}
  for _, e in ipairs(ops(transcript, "api")) do
    found[#found + 1] = e.command .. " " .. tostring(e.args)
  end
  return found
end

local function played(transcript)
  local names = {}
  for _, e in ipairs(ops(transcript, "playback")) do
    names[#names + 1] = e.file:match("([%w_]+)%.wav$") or e.file
  end
  return names
end

local function logged(transcript, needle)
  for _, line in ipairs(transcript.logs) do
    if line.text:find(needle, 1, true) then
      return true
    end
  end
  return false
end

local LOADED = { "mod_audio_stream" }

describe("streaming entry", function()
  it("hands the answered call to the service's event socket, resumable, and lets a transfer go", function()
    local t, turn_based, em = run({
      caller = {
        modules = LOADED,
        socket = { action = "transfer", data = "203 XML acme.example.com" },
      },
    })
    assert.is_false(turn_based)
    local socket = ops(t, "socket")
    assert.are.equal(1, #socket)
    assert.are.equal("127.0.0.1:8084 async full", socket[1].data)
    assert.is_true(em.channel.answered)
    assert.are.equal("true", t.variables.socket_resume) -- set by the script itself, before the socket
    assert.are.equal("8000", t.variables.voice_ai_secretary) -- the entry script's argument, for the service
    assert.are.equal("scripts", t.variables.voice_ai_scripts_dir) -- where the entry script is (emulator: relative)
    assert.are.equal("transferred", t.final_state)
    assert.are.same({}, played(t)) -- no apology: the service carried the call out
    assert.are.same({ "module_exists mod_audio_stream" }, apis(t))
  end)

  it("uses voice_ai_esl when set (several instances: the socket app tries them in order)", function()
    local t = run({
      variables = { voice_ai_esl = "10.0.0.5:9084|10.0.0.6:9084" },
      caller = { modules = LOADED, socket = { action = "hangup" } },
    })
    assert.are.equal("10.0.0.5:9084|10.0.0.6:9084 async full", ops(t, "socket")[1].data)
    assert.are.same({}, played(t))
    assert.are.equal("CS_HANGUP", t.final_state)
  end)

  it("the service lets go of a live call (it failed or died): apology, stream stopped, the fallback", function()
    local t = run({
      caller = {
        modules = LOADED,
        socket = { action = "close", set = { voice_ai_stream_error = "engine failed" } },
      },
    })
    assert.are.same({ "error_transfer" }, played(t))
    local calls = apis(t)
    assert.are.equal("uuid_audio_stream stream-call-3 stop", calls[2])
    assert.are.equal("uuid_break stream-call-3 all", calls[3])
    local transfer = ops(t, "transfer")
    assert.are.equal(1, #transfer)
    assert.are.same({ "200", "acme.example.com" }, { transfer[1].destination, transfer[1].context })
    assert.is_true(logged(t, "[stream] engine failed"))
  end)

  it("nobody listens on the event socket: the same rescue", function()
    local t = run({ caller = { modules = LOADED, socket = { refused = true } } })
    assert.are.equal(1, #ops(t, "socket"))
    assert.are.same({ "error_transfer" }, played(t))
    assert.are.equal("200", ops(t, "transfer")[1].destination)
    assert.is_true(logged(t, "closed the event socket"))
  end)

  it("mod_audio_stream missing: the turn-based flow takes the call", function()
    local t, turn_based = run({ caller = { modules = {} } })
    assert.is_true(turn_based)
    assert.are.equal(0, #ops(t, "socket"))
    assert.is_true(logged(t, "mod_audio_stream is not loaded"))
  end)

  it("without voice_ai_mode=stream the module is not even asked about", function()
    local t, turn_based = run({ variables = { voice_ai_mode = "turn" }, caller = { modules = LOADED } })
    assert.is_true(turn_based)
    assert.are.same({}, apis(t))
  end)

  it("a voice_ai_esl that is not host:port never reaches the socket app", function()
    local t = run({ variables = { voice_ai_esl = "127.0.0.1:8084 async full" }, caller = { modules = LOADED } })
    assert.are.equal(0, #ops(t, "socket"))
    assert.are.same({ "error_transfer" }, played(t))
    assert.is_true(logged(t, "voice_ai_esl is not host:port"))
    local empty = run({ variables = { voice_ai_esl = "127.0.0.1:8084|" }, caller = { modules = LOADED } })
    assert.are.equal(0, #ops(empty, "socket"))
  end)

  it("the emulator's socket app hangs up a parked call whose socket closes without socket_resume", function()
    local em = emulator.new({ uuid = "em-socket", caller = { socket = { action = "close" } } })
    em.session:answer()
    em.session:execute("socket", "127.0.0.1:8084 async full")
    assert.is_false(em.session:ready())
  end)
end)
