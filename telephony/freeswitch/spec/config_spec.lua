local config = require("voice_ai.config")
local emulator = require("emulator")

local function session_with(variables, globals)
  return emulator.new({ uuid = "cfg-" .. tostring(math.random(1e9)), variables = variables, globals = globals }).session
end

describe("config", function()
  it("reads the call from channel variables with sensible defaults", function()
    local cfg = config.load(session_with({
      domain_uuid = "d-1", domain_name = "acme.example.com", caller_id_number = "100",
      destination_number = "8000", temp_dir = "/var/tmp/",
    }), { "8000" })
    assert.are.same({}, cfg.problems)
    assert.are.equal("8000", cfg.secretary)
    assert.are.equal("d-1", cfg.domain_uuid)
    assert.are.equal(config.DEFAULT_URL, cfg.url)
    assert.are.equal(2, cfg.connect_timeout)
    assert.are.equal(15, cfg.turn_timeout)
    assert.are.equal("acme.example.com", cfg.fallback_context)
    assert.are.equal("/var/tmp", cfg.tmp_dir)
    assert.are.equal("/usr/share/freeswitch/sounds/voice_ai", cfg.sounds_dir)
    assert.is_false(cfg.audio_path)
    assert.is_string(cfg.call_uuid)
  end)

  it("falls back to FreeSWITCH global variables (vars.xml) as getVariable does", function()
    local cfg = config.load(session_with({ domain_uuid = "d" }, {
      voice_ai_url = "http://10.0.0.5:8100/", voice_ai_token = "s3cret-token-1234", sounds_dir = "/opt/sounds",
      voice_ai_secretary = "8001", voice_ai_audio_path = "true",
    }), {})
    assert.are.equal("http://10.0.0.5:8100", cfg.url)
    assert.are.equal("s3cret-token-1234", cfg.token)
    assert.are.equal("8001", cfg.secretary)
    assert.are.equal("/opt/sounds/voice_ai", cfg.sounds_dir)
    assert.is_true(cfg.audio_path)
  end)

  it("the script argument wins over the variable", function()
    local cfg = config.load(session_with({ domain_uuid = "d", voice_ai_secretary = "8001" }), { "8002" })
    assert.are.equal("8002", cfg.secretary)
  end)

  it("ignores nonsense numbers and unset markers", function()
    local cfg = config.load(session_with({
      domain_uuid = "d", voice_ai_timeout = "-3", voice_ai_turn_timeout = "abc", voice_ai_token = "_undef_",
    }), { "8000" })
    assert.are.equal(8, cfg.timeout)
    assert.are.equal(15, cfg.turn_timeout)
    assert.is_nil(cfg.token)
  end)

  it("lists what is missing", function()
    local cfg = config.load(session_with({ voice_ai_url = "ftp://x" }), {})
    assert.are.equal(3, #cfg.problems)
    assert.matches("domain_uuid", cfg.problems[1])
    assert.matches("secretary", cfg.problems[2])
    assert.matches("voice_ai_url", cfg.problems[3])
  end)

  it("finds local sounds in the call's language, pt-BR as the fallback", function()
    local cfg = config.load(session_with({ domain_uuid = "d", voice_ai_sounds_dir = "/s" }), { "1" })
    assert.are.same({ "/s/en-US/goodbye.wav", "/s/pt-BR/goodbye.wav" }, config.sound(cfg, "goodbye", "en-US"))
  end)
end)
