local http = require("voice_ai.http")
local socket = require("socket")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local lua = arg and arg[-1] or "lua5.3"

local function tmpfile(content)
  local path = os.tmpname()
  local handle = assert(io.open(path, "wb"))
  handle:write(content or "")
  handle:close()
  return path
end

-- start the canned server in its own process; returns the base URL and the request dump path
local function serve(status, content_type, body, delay)
  local body_file = tmpfile(body)
  local dump = os.tmpname()
  local proc = assert(io.popen(string.format("%s %s/support/canned_server.lua %d '%s' '%s' %s '%s'", lua, here, status,
    content_type, body_file, tostring(delay or 0), dump), "r"))
  local port = assert(tonumber(proc:read("*l")), "canned server did not start")
  return "http://127.0.0.1:" .. port, dump, function()
    proc:close()
    os.remove(body_file)
  end
end

local function read(path)
  local handle = io.open(path, "rb")
  if not handle then
    return ""
  end
  local text = handle:read("*a")
  handle:close()
  return text
end

describe("http", function()
  it("posts JSON with the bearer token and decodes the answer", function()
    local url, dump, done = serve(201, "application/json", '{"conversation_uuid":"c-1","greeting_audio_url":null}')
    local client = http.new(url, { token = "tok-123", timeout = 5 })
    local answer, err = client:post_json("/api/v1/calls", { secretary = "8000" })
    done()
    assert.is_nil(err)
    assert.are.equal("c-1", answer.conversation_uuid)
    local request = read(dump)
    assert.matches("^POST /api/v1/calls HTTP/1.1", request)
    assert.matches("\nAuthorization: Bearer tok%-123\r?\n", request)
    assert.matches("\nContent%-Type: application/json", request)
    assert.matches('{"secretary":"8000"}$', request)
  end)

  it("reports an HTTP error with the service's detail and status", function()
    local url, _, done = serve(503, "application/json", '{"detail":"database unavailable"}')
    local answer, err = http.new(url):post_json("/x", {})
    done()
    assert.is_nil(answer)
    assert.are.equal("http", err.kind)
    assert.are.equal(503, err.status)
    assert.matches("database unavailable", err.message)
  end)

  it("reports a malformed answer as json", function()
    local url, _, done = serve(200, "text/html", "<html>gateway</html>")
    local answer, err = http.new(url):post_json("/x", {})
    done()
    assert.is_nil(answer)
    assert.are.equal("json", err.kind)
  end)

  it("times out on a service that does not answer in time", function()
    local url, _, done = serve(200, "application/json", "{}", 3)
    local started = socket.gettime()
    local answer, err = http.new(url, { timeout = 0.5 }):post_json("/x", {})
    local elapsed = socket.gettime() - started
    done()
    assert.is_nil(answer)
    assert.are.equal("timeout", err.kind)
    assert.is_true(elapsed < 2, "took " .. elapsed)
  end)

  it("fails fast when nothing listens", function()
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    server:close()
    local answer, err = http.new("http://127.0.0.1:" .. port):post_json("/x", {})
    assert.is_nil(answer)
    assert.are.equal("connect", err.kind)
  end)

  it("uploads a multipart form with the recording", function()
    local url, dump, done = serve(200, "application/json", '{"action":"continue"}')
    local audio = "RIFF\0\0\0\0WAVE" .. string.rep("\255\0\r\n--", 50)
    local answer = http.new(url):post_form("/api/v1/calls/u/turns", { domain_uuid = "d" },
      { name = "audio", filename = "turn.wav", content_type = "audio/wav", data = audio })
    done()
    assert.are.equal("continue", answer.action)
    local request = read(dump)
    local boundary = request:match("multipart/form%-data; boundary=(%w+)")
    assert.is_string(boundary)
    assert.truthy(request:find('name="domain_uuid"\r\n\r\nd\r\n', 1, true))
    assert.truthy(request:find('name="audio"; filename="turn.wav"\r\nContent-Type: audio/wav\r\n\r\n' .. audio ..
      "\r\n--" .. boundary .. "--\r\n", 1, true))
  end)

  it("downloads audio from the configured service, whatever host the URL names", function()
    local url, dump, done = serve(200, "audio/wav", "RIFFdata")
    local path = os.tmpname()
    local ok, err = http.new(url):download("http://service.internal:9999/api/v1/audio/a.wav", path)
    done()
    assert.is_nil(err)
    assert.is_true(ok)
    assert.are.equal("RIFFdata", read(path))
    assert.matches("^GET /api/v1/audio/a.wav", read(dump))
    os.remove(path)
  end)

  it("a failed download leaves no file", function()
    local url, _, done = serve(404, "application/json", '{"detail":"Audio not found"}')
    local path = os.tmpname()
    local ok, err = http.new(url):download("/api/v1/audio/b.wav", path)
    done()
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
    assert.is_nil(io.open(path, "rb"))
  end)
end)
