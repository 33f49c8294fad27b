local logger = require("voice_ai.log")

describe("log", function()
  it("writes through the session's own logger, so FreeSWITCH ties each line to the call", function()
    local lines, global = {}, {}
    local session = { consoleLog = function(_, level, text) lines[#lines + 1] = { level, text } end }
    local fs = { consoleLog = function(level, text) global[#global + 1] = { level, text } end }
    local log = logger.new(session, fs, "abc-123")
    log:info("turn %d: %s", 2, "ok")
    log:err("failed")
    log:warning("%d%%", 50)
    assert.are.same({ "INFO", "[voice_ai] turn 2: ok\n" }, lines[1])
    assert.are.same({ "ERR", "[voice_ai] failed\n" }, lines[2])
    assert.are.same({ "WARNING", "[voice_ai] 50%\n" }, lines[3])
    assert.are.equal(0, #global)
  end)

  it("without a session, tags the line with the call uuid by hand", function()
    local lines = {}
    local log = logger.new(nil, { consoleLog = function(level, text) lines[#lines + 1] = { level, text } end }, "u-1")
    log:notice("hello")
    assert.are.same({ "NOTICE", "[voice_ai] [u-1] hello\n" }, lines[1])
  end)

  it("never raises on a bad format", function()
    local lines = {}
    local session = { consoleLog = function(_, _, text) lines[#lines + 1] = text end }
    local log = logger.new(session, {}, "u")
    log:info("%d items", "many")
    assert.matches("%%d items", lines[1])
  end)
end)
