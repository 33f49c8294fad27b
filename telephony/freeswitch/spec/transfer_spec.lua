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
