local json = require("voice_ai.json")

local codecs = { { "default (" .. json.backend .. ")", json }, { "pure Lua", json.pure } }

for _, pair in ipairs(codecs) do
  local name, codec = pair[1], pair[2]
  describe("json " .. name, function()
    it("decodes the service's answers, null as nil", function()
      local value = assert(codec.decode(
        '{"action":"transfer","transfer":{"destination":"203","context":"demo.localhost"},"audio_url":null,' ..
        '"turn":3,"timings":{"total_ms":921.4},"ok":true,"list":[1,2,3]}'))
      assert.are.equal("transfer", value.action)
      assert.are.equal("203", value.transfer.destination)
      assert.is_nil(value.audio_url)
      assert.are.equal(3, value.turn)
      assert.are.equal(921.4, value.timings.total_ms)
      assert.is_true(value.ok)
      assert.are.same({ 1, 2, 3 }, value.list)
    end)

    it("decodes escapes and UTF-8", function()
      local value = assert(codec.decode('{"t":"Ol\\u00e1, \\"voc\\u00ea\\"\\n\\ud83d\\ude00 não"}'))
      assert.are.equal('Olá, "você"\n😀 não', value.t)
    end)

    it("returns nil and an error for malformed text, never raising", function()
      for _, bad in ipairs({ "", "{", '{"a":}', "<html>502 Bad Gateway</html>", '{"a":1} x', "[1,2", '"abc' }) do
        local value, err = codec.decode(bad)
        assert.is_nil(value, bad)
        assert.is_string(err, bad)
      end
      local value, err = codec.decode(nil)
      assert.is_nil(value)
      assert.matches("expected a string", err)
    end)

    it("encodes what the script sends and round-trips it", function()
      local payload = { domain_uuid = "d", secretary = "8000", call_uuid = "a-1", caller_id_name = 'Zé "Tião"\t\1' }
      local text = assert(codec.encode(payload))
      assert.are.same(payload, assert(json.pure.decode(text)))
      assert.are.same(payload, assert(codec.decode(text)))
      assert.are.equal("[1,2,3]", codec.encode({ 1, 2, 3 }))
    end)

    it("refuses what JSON cannot hold", function()
      local text, err = codec.encode({ f = function() end })
      assert.is_nil(text)
      assert.is_string(err)
    end)
  end)
end
