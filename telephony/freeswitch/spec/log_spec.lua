local logger = require("voice_ai.log")

describe("log", function()
  it("tags every line with the call uuid and FreeSWITCH's level", function()
    local lines = {}
    local fs = { consoleLog = function(level, text) lines[#lines + 1] = { level, text } end }
    local log = logger.new(fs, "abc-123")
    log:info("turn %d: %s", 2, "ok")
    log:err("failed")
    log:warning("%d%%", 50)
    assert.are.same({ "INFO", "[voice_ai] [abc-123] turn 2: ok\n" }, lines[1])
    assert.are.same({ "ERR", "[voice_ai] [abc-123] failed\n" }, lines[2])
    assert.are.same({ "WARNING", "[voice_ai] [abc-123] 50%\n" }, lines[3])
  end)

  it("never raises on a bad format", function()
    local lines = {}
    local log = logger.new({ consoleLog = function(_, text) lines[#lines + 1] = text end }, "u")
    log:info("%d items", "many")
    assert.matches("%%d items", lines[1])
  end)
end)
