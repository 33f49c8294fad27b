-- The emulator has to be faithful to FreeSWITCH, or the call specs prove nothing: these pin its semantics.
local emulator = require("emulator")

local FIXTURE = "spec/fixtures/question_price.wav"

local function find(transcript, op)
  local found = {}
  for _, e in ipairs(transcript.events) do
    if e.op == op then
      found[#found + 1] = e
    end
  end
  return found
end

describe("emulator", function()
  after_each(function()
    rawset(_G, "spec_hook", nil)
    rawset(_G, "spec_input", nil)
  end)

  it("accepts only real WAV files for playback", function()
    local em = emulator.new({ uuid = "em-1" })
    assert.are.equal(1, em.session:streamFile("sounds/voice_ai/pt-BR/goodbye.wav"))
    assert.are.equal(0, em.session:streamFile("spec/emulator_spec.lua"))
    local truncated = os.tmpname()
    local handle = assert(io.open(truncated, "wb"))
    local data = assert(io.open(FIXTURE, "rb")):read("*a")
    handle:write(data:sub(1, 200))
    handle:close()
    assert.are.equal(0, em.session:streamFile(truncated))
    os.remove(truncated)
    local plays = find(em.finish(), "playback")
    assert.is_true(plays[1].ok)
    assert.are.equal(8000, plays[1].rate)
    assert.is_true(plays[1].duration_ms > 1000)
    assert.are.same({ false, "not a RIFF/WAVE file" }, { plays[2].ok, plays[2].error })
    assert.matches("data chunk says", plays[3].error)
  end)

  it("recordFile stops after silence_hits seconds below the energy threshold", function()
    local em = emulator.new({ uuid = "em-2", caller = { steps = { { say = FIXTURE, pause_ms = 400 } } } })
    local out = os.tmpname()
    assert.are.equal(1, em.session:recordFile(out, 15, 300, 2))
    local speech = assert(emulator.read_wav(FIXTURE)).duration_ms
    local recorded = assert(emulator.read_wav(out))
    os.remove(out)
    local record = find(em.finish(), "record")[1]
    assert.are.equal("silence", record.stopped_by)
    -- pause + the speech (its own trailing silence included) + 2 s, within a few frames
    assert.is_true(math.abs(record.recorded_ms - (400 + speech + 2000)) <= 400, record.recorded_ms)
    assert.are.equal(record.recorded_ms, recorded.duration_ms)
    assert.are.equal(tostring(record.recorded_ms), em.channel.variables.record_ms)
  end)

  it("a threshold above speech energy cuts the caller off; no threshold runs to the time limit", function()
    local em = emulator.new({ uuid = "em-3", caller = { steps = { { say = FIXTURE }, { say = FIXTURE } } } })
    local out = os.tmpname()
    em.session:recordFile(out, 15, 30000, 1)
    em.session:recordFile(out, 3, 0, 0)
    os.remove(out)
    local records = find(em.finish(), "record")
    assert.are.equal(1000, records[1].recorded_ms)
    assert.are.equal("time_limit", records[2].stopped_by)
    assert.are.equal(3000, records[2].recorded_ms)
  end)

  it("takes hook and callback names, as mod_lua does, not functions", function()
    local em = emulator.new({ uuid = "em-4" })
    assert.has_error(function() em.session:setInputCallback(function() end) end,
      "Error in Session::setInputCallback (arg 2), expected 'char *' got 'function'")
    assert.has_error(function() em.session:setHangupHook(print) end)
    assert.has_error(function() em.session:recordFile() end)
  end)

  it("runs the hangup hook at the next blocking call, with the session found by its uuid global", function()
    local calls = {}
    rawset(_G, "spec_hook", function(s, how) calls[#calls + 1] = { s, how } end)
    local em = emulator.new({ uuid = "em-5", caller = { steps = { { say = FIXTURE, hangup_at_ms = 500 } } } })
    em.session:setHangupHook("spec_hook")
    local out = os.tmpname()
    em.session:recordFile(out, 15, 300, 2)
    os.remove(out)
    assert.are.equal(1, #calls)
    assert.are.equal(em.session, calls[1][1])
    assert.are.equal("hangup", calls[1][2])
    assert.is_false(em.session:ready())
    assert.are.equal(1, #calls)
    local t = em.finish()
    assert.are.equal("CS_HANGUP", t.final_state)
    assert.are.equal(1, #find(t, "hangup_hook"))
  end)

  it("transfer leaves the channel not ready and fires the hook with 'transfer'", function()
    local hows = {}
    rawset(_G, "spec_hook", function(_, how) hows[#hows + 1] = how end)
    local em = emulator.new({ uuid = "em-6" })
    em.session:setHangupHook("spec_hook")
    em.session:execute("transfer", "203 XML acme.example.com")
    assert.is_false(em.session:ready())
    local t = em.finish()
    assert.are.same({ "transfer" }, hows)
    assert.are.equal("transferred", t.final_state)
    local transfer = find(t, "transfer")[1]
    assert.are.same({ "203", "XML", "acme.example.com" }, { transfer.destination, transfer.dialplan, transfer.context })
    assert.are.equal(0, #find(t, "hangup")) -- mod_lua does not hang up a transferred channel
  end)

  it("a hook answering 'exit' stops the script", function()
    rawset(_G, "spec_hook", function() return "exit" end)
    local em = emulator.new({ uuid = "em-7" })
    em.session:setHangupHook("spec_hook")
    assert.has_error(function() em.session:hangup() end, "exit") -- the hook runs inside hangup()
  end)

  it("runs the hook inside the script's own hangup, before it returns", function()
    local order = {}
    rawset(_G, "spec_hook", function(_, how) order[#order + 1] = "hook:" .. how end)
    local em = emulator.new({ uuid = "em-7b" })
    em.session:setHangupHook("spec_hook")
    em.session:hangup()
    order[#order + 1] = "after hangup"
    assert.are.same({ "hook:hangup", "after hangup" }, order)
  end)

  it("recordFile (not used by the flow) hangs the call up when it cannot open its file, as FreeSWITCH does", function()
    local em = emulator.new({ uuid = "em-7c", caller = { steps = { { say = FIXTURE } } } })
    assert.are.equal(0, em.session:recordFile("/nonexistent-dir/x.wav", 15, 300, 2))
    assert.is_false(em.session:ready())
    assert.are.equal("DESTINATION_OUT_OF_ORDER", em.session:hangupCause())
  end)

  it("a transfer to a flag-like destination does nothing", function()
    local em = emulator.new({ uuid = "em-7d" })
    em.session:execute("transfer", "-bleg 200 XML default")
    assert.is_true(em.session:ready())
  end)

  it("delivers keys to the input callback; 'break' stops the prompt, nil lets it play", function()
    local seen = {}
    rawset(_G, "spec_input", function(_, kind, input)
      seen[#seen + 1] = kind .. ":" .. input.digit
      return input.digit == "1" and "break" or nil
    end)
    local em = emulator.new({ uuid = "em-8", caller = { playback = {
      { press = "1", at_ms = 300 }, { press = "2", at_ms = 300 },
    } } })
    em.session:setInputCallback("spec_input", "")
    em.session:streamFile("sounds/voice_ai/pt-BR/goodbye.wav")
    em.session:streamFile("sounds/voice_ai/pt-BR/goodbye.wav")
    local plays = find(em.finish(), "playback")
    assert.are.same({ "dtmf:1", "dtmf:2" }, seen)
    assert.are.equal(300, plays[1].stopped_at_ms)
    assert.is_nil(plays[2].stopped_at_ms)
  end)

  it("record_session that cannot open its file: uri-failure at once, no recording, the call stays up", function()
    local em = emulator.new({ uuid = "em-7e", caller = { steps = { { say = FIXTURE } } } })
    em.session:execute("record_session", "/nonexistent-dir/x.wav +15 {RECORD_READ_ONLY=true,RECORD_HANGUP_ON_ERROR=false}")
    assert.are.equal("uri-failure", em.session:getVariable("record_completion_cause"))
    assert.is_true(em.session:ready())
  end)

  it("transfers as switch_ivr_session_transfer: named dialplans, else force_transfer_dialplan, else the profile's",
    function()
      local em = emulator.new({ uuid = "em-7f", variables = { destination_number = "8000", context = "ctx" },
        caller = { departments = { ["203"] = { blind_transfer = "2099" } }, unrouted = { "2099" } } })
      em.session:execute("transfer", "203 XML,inline:lua:no_route.lua ctx")
      assert.are.same({ "203", "ctx", "8000" }, { em.session:getVariable("destination_number"),
        em.session:getVariable("context"), em.session:getVariable("rdnis") })
      assert.matches(":bl_xfer:203/ctx/XML,inline:lua:no_route%.lua$", em.session:getVariable("transfer_source"))
      -- the department's blind transfer (no dialplan) reuses ours: XML finds nothing, the inline script runs, with
      -- the number dialled before the transfer back in destination_number (mod_dptools' inline_dialplan_hunt)
      assert.are.equal("no_route.lua", em.take_inline())
      assert.are.same({ "203", "" }, { em.session:getVariable("destination_number"), em.session:getVariable("rdnis") })
      assert.matches(":bl_xfer:2099/ctx/XML,inline", em.session:getVariable("transfer_source"))
      assert.matches("^ARRAY::.*bl_xfer:203/.*|:.*bl_xfer:2099/", em.session:getVariable("transfer_history"))

      local forced = emulator.new({ uuid = "em-7g", variables = { context = "ctx", force_transfer_dialplan = "XML" },
        caller = { departments = { ["203"] = { blind_transfer = "2099" } }, unrouted = { "2099" } } })
      forced.session:execute("transfer", "203 XML,inline:lua:no_route.lua ctx")
      assert.is_nil(forced.take_inline()) -- XML only: nothing for 2099, the call ends
      local t = forced.finish()
      assert.are.same({ "CS_HANGUP", "NO_ROUTE_DESTINATION" }, { t.final_state, t.variables.hangup_cause })
    end)

  it("channel variables fall back to the caller profile, then to global variables", function()
    local em = emulator.new({ uuid = "em-9b", variables = { destination_number = "8000" },
      globals = { destination_number = "g" } })
    assert.are.equal("8000", em.session:getVariable("destination_number"))
    em.session:setVariable("destination_number", "chan")
    assert.are.equal("chan", em.session:getVariable("destination_number")) -- a channel variable comes first
  end)

  it("channel variables fall back to global variables", function()
    local em = emulator.new({ uuid = "em-9", variables = { a = "channel" }, globals = { a = "global", b = "g" } })
    assert.are.equal("channel", em.session:getVariable("a"))
    assert.are.equal("g", em.session:getVariable("b"))
    assert.is_nil(em.session:getVariable("c"))
    assert.are.equal("g", em.freeswitch.API():executeString("global_getvar b"))
  end)
end)
