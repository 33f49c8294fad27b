local transfer = require("voice_ai.transfer")

--- The department's leg as voice_ai_announce.lua gets it from originate's group confirm: `keys` is what
--- playAndGetDigits returns, `leaves` makes the person hang up while the line plays.
local function leg(keys, leaves)
  local l = { up = true, log = {}, plays = {} }
  function l:playAndGetDigits(min, max, tries, timeout, _, file, _, pattern)
    self.plays[#self.plays + 1] = { min = min, max = max, tries = tries, timeout = timeout, file = file,
      pattern = pattern }
    if leaves then
      self.up = false
    end
    return keys or ""
  end
  function l:ready()
    return self.up
  end
  function l:hangup(cause)
    self.up, self.cause = false, cause
  end
  function l:consoleLog(level, text)
    self.log[#self.log + 1] = level .. " " .. text
  end
  return l
end

local function api()
  local a = { calls = {} }
  function a:execute(command, args)
    self.calls[#self.calls + 1] = command .. " " .. args
    return "+OK"
  end
  return a
end

local CALLER = "0b6f7c1e-9d7a-4a57-8a5e-1c2d3e4f5a6b"

describe("a streaming call's announced transfer (voice_ai_announce.lua → transfer.confirm)", function()
  local line
  before_each(function()
    line = os.tmpname()
    local f = assert(io.open(line, "wb"))
    f:write("RIFF")
    f:close()
  end)
  after_each(function()
    os.remove(line)
  end)

  it("marks the caller's channel before the line plays, and 1 takes the call", function()
    local other, fs = leg("1"), api()
    assert.is_true(transfer.confirm(other, fs, line, CALLER))
    assert.are.same({ "uuid_setvar " .. CALLER .. " voice_ai_announce answered" }, fs.calls)
    assert.are.same({ min = 1, max = 1, tries = 2, timeout = 5000, file = line, pattern = "^1$" }, other.plays[1])
    assert.is_true(other:ready()) -- left up: originate connects it
  end)

  it("another key, silence or hanging up on the line declines it: the leg goes down", function()
    for _, case in ipairs({ { "2" }, { "" }, { "", true } }) do
      local other, fs = leg(case[1], case[2]), api()
      assert.is_false(transfer.confirm(other, fs, line, CALLER))
      assert.is_false(other:ready())
      assert.are.equal(1, #fs.calls) -- the mark: the caller's bridge ends DECLINED
    end
  end)

  it("without a usable line it connects unannounced rather than lose the caller", function()
    local checked = 0
    for _, path in ipairs({ false, "relative.wav", "/no/such/file.wav", "/tmp/a b.wav" }) do
      local other, fs = leg("2"), api()
      checked = checked + 1
      assert.is_true(transfer.confirm(other, fs, path or nil, CALLER))
      assert.are.equal(0, #other.plays)
      assert.are.equal(0, #fs.calls)
      assert.matches("no announcement file", other.log[1])
    end
    assert.are.equal(4, checked)
  end)

  it("a caller uuid that is not one is not put into an API command", function()
    local other, fs = leg("1"), api()
    assert.is_true(transfer.confirm(other, fs, line, CALLER .. " hupall"))
    assert.are.equal(0, #fs.calls)
  end)
end)

describe("the dial string of an announced transfer", function()
  local function wav(seconds)
    local path = os.tmpname()
    local rate, bytes = 8000, math.floor(8000 * 2 * seconds)
    local f = assert(io.open(path, "wb"))
    f:write("RIFF", string.pack("<I4", 36 + bytes), "WAVEfmt ", string.pack("<I4I2I2I4I4I2I2", 16, 1, 1, rate,
      rate * 2, 2, 16), "data", string.pack("<I4", bytes), string.rep("\0", bytes))
    f:close()
    return path
  end

  it("rings the leg for the ring time and gives the group confirm the line twice, 5 s after each", function()
    local line = wav(3)
    local dial, ring, announced = transfer.dial_string("203", "acme", { ring_seconds = 20, call_uuid = CALLER,
      announcement = line, scripts_dir = "/usr/share/freeswitch/scripts" })
    os.remove(line)
    assert.are.same({ 20, true }, { ring, announced })
    local confirm = 2 * (3 + 5) + 5
    assert.are.equal("{originate_timeout=" .. (20 + confirm) .. ",ignore_early_media=true,group_confirm_key=exec," ..
      "group_confirm_file=lua /usr/share/freeswitch/scripts/voice_ai_announce.lua " .. line .. " " .. CALLER ..
      ",group_confirm_timeout=" .. confirm .. ",voice_ai_call_uuid=" .. CALLER .. "}[leg_timeout=20]loopback/203/acme",
      dial)
  end)

  it("is plain when the line or the caller cannot go into it safely", function()
    for _, opts in ipairs({ { announcement = "/tmp/a,b.wav" }, { announcement = "/tmp/x.wav", call_uuid = "a b" },
      { announcement = "relative.wav" } }) do
      opts.call_uuid = opts.call_uuid or CALLER
      local dial, _, announced = transfer.dial_string("203", "acme", opts)
      assert.is_false(announced)
      assert.is_nil(dial:find("group_confirm", 1, true))
    end
  end)

  it("a line it cannot read as a WAV gets the fallback time", function()
    assert.are.equal(transfer.CONFIRM_FALLBACK, transfer.confirm_seconds("/no/such/file.wav"))
  end)
end)
