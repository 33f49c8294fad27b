--- HTTP to the Voice AI Service over LuaSocket (Debian `lua-socket`; `lua-sec` for https), with a connect
--- timeout and a total deadline per request. No shell, no command line built from data: bodies are written
--- to the socket as they are.
---
--- Every function returns its result, or nil and an error table {kind=..., message=..., status=...} where
--- kind is "connect", "timeout", "http" (non-2xx), "json" (malformed answer) or "io".
local M = {}

local json = require("voice_ai.json")

local function load_socket()
  local ok, socket = pcall(require, "socket")
  if not ok then
    return nil, "LuaSocket is not installed (Debian: apt-get install lua-socket) or lua.conf's script-directory " ..
      "does not end with ';;': " .. tostring(socket)
  end
  return { socket = socket, http = require("socket.http"), ltn12 = require("ltn12") }
end

local function fail(kind, message, status)
  return nil, { kind = kind, message = message, status = status }
end

-- A TCP socket for socket.http whose timeouts are ours: socket.http calls settimeout(http.TIMEOUT) on the
-- socket it gets, so that call is ignored and every operation gets what is left of the deadline.
local function timed_socket(lib, connect_timeout, deadline)
  local sock = lib.socket.tcp()
  local proxy = {}
  local function left()
    return math.max(0.001, deadline - lib.socket.gettime())
  end
  function proxy.settimeout()
    return 1
  end
  function proxy.connect(_, host, port)
    sock:settimeout(math.min(connect_timeout, left()))
    local ok, err = sock:connect(host, port)
    if not ok then
      return nil, "connect: " .. tostring(err)
    end
    return ok
  end
  function proxy.send(_, ...)
    sock:settimeout(left())
    return sock:send(...)
  end
  function proxy.receive(_, ...)
    sock:settimeout(left())
    return sock:receive(...)
  end
  return setmetatable(proxy, {
    __index = function(_, key)
      local member = sock[key]
      if type(member) == "function" then
        return function(_, ...)
          return member(sock, ...)
        end
      end
      return member
    end,
  })
end

local Client = {}
Client.__index = Client

--- A client for `base_url` ("http://127.0.0.1:8100"). opts: token, connect_timeout, timeout (seconds), lib
--- (LuaSocket modules, for tests).
function M.new(base_url, opts)
  opts = opts or {}
  local lib, err = opts.lib, nil
  if not lib then
    lib, err = load_socket()
  end
  return setmetatable({
    base_url = base_url,
    token = opts.token,
    connect_timeout = opts.connect_timeout or 2,
    timeout = opts.timeout or 8,
    lib = lib,
    load_error = err,
  }, Client)
end

--- Seconds (wall clock, sub-second when LuaSocket is there).
function Client:now()
  return self.lib and self.lib.socket.gettime() or os.time()
end

--- The service's own address for `url`: an absolute URL keeps only its path (the service may name itself
--- by another host; we always talk to the configured one).
function Client:resolve(url)
  local path = url:match("^https?://[^/]+(/.*)$") or url
  if path:sub(1, 1) ~= "/" then
    path = "/" .. path
  end
  return self.base_url .. path
end

--- One request. opts: method, body (string), headers, timeout, sink (an ltn12 sink; default: collect).
--- Returns status, body (when collected), headers.
function Client:request(url, opts)
  if not self.lib then
    return fail("connect", self.load_error)
  end
  local lib = self.lib
  opts = opts or {}
  local timeout = opts.timeout or self.timeout
  local deadline = lib.socket.gettime() + timeout
  local chunks = {}
  local headers = { ["user-agent"] = "voice-ai-freeswitch/1", accept = "application/json" }
  for k, v in pairs(opts.headers or {}) do
    headers[k:lower()] = v
  end
  if self.token then
    headers["authorization"] = "Bearer " .. self.token
  end
  if opts.body then
    headers["content-length"] = tostring(#opts.body)
  end
  local request = {
    url = self:resolve(url),
    method = opts.method or "GET",
    headers = headers,
    source = opts.body and lib.ltn12.source.string(opts.body) or nil,
    sink = opts.sink or lib.ltn12.sink.table(chunks),
    redirect = false,
  }
  local requester = lib.http
  if request.url:match("^https:") then
    local ok, https = pcall(require, "ssl.https")
    if not ok then
      return fail("connect", "https needs LuaSec (Debian: apt-get install lua-sec)")
    end
    -- LuaSec builds its own socket: the timeout applies per operation, not as a total deadline, so prefer
    -- plain HTTP on loopback or a private network; the server's certificate is verified
    https.TIMEOUT = timeout
    request.verify = "peer"
    request.cafile = self.cafile or "/etc/ssl/certs/ca-certificates.crt"
    request.options = { "all", "no_sslv2", "no_sslv3" }
    requester = https
  else
    request.create = function()
      return timed_socket(lib, self.connect_timeout, deadline)
    end
  end
  local ok, status, response_headers = requester.request(request)
  if not ok then
    local message = tostring(status)
    if message:match("timeout") then
      return fail("timeout", string.format("no answer within %gs (%s)", timeout, message))
    end
    return fail("connect", message)
  end
  return status, table.concat(chunks), response_headers or {}
end

local function detail_of(body)
  local data = json.decode(body or "")
  if type(data) == "table" and data.detail ~= nil then
    if type(data.detail) == "string" then
      return data.detail
    end
    return json.encode(data.detail) or "?"
  end
  return (body or ""):sub(1, 200)
end

local function decode_answer(status, body)
  if status < 200 or status >= 300 then
    return fail("http", string.format("HTTP %d: %s", status, detail_of(body)), status)
  end
  local data, err = json.decode(body)
  if type(data) ~= "table" then
    return fail("json", "malformed answer: " .. tostring(err or "not an object"), status)
  end
  return data
end

--- POST a JSON object; returns the decoded JSON answer.
function Client:post_json(path, payload, timeout)
  local body, err = json.encode(payload)
  if not body then
    return fail("json", err)
  end
  local status, answer = self:request(path, {
    method = "POST", body = body, timeout = timeout, headers = { ["content-type"] = "application/json" },
  })
  if not status then
    return nil, answer
  end
  return decode_answer(status, answer)
end

local function random_boundary()
  local parts = {}
  for i = 1, 4 do
    parts[i] = string.format("%08x", math.random(0, 0x7fffffff))
  end
  return "voiceai" .. table.concat(parts)
end

--- multipart/form-data from `fields` (name → string) and an optional `file` {name, filename, content_type,
--- data}; returns body, content type.
function M.multipart(fields, file)
  local boundary = random_boundary()
  local out = {}
  local names = {}
  for name in pairs(fields) do
    names[#names + 1] = name
  end
  table.sort(names)
  for _, name in ipairs(names) do
    out[#out + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"\r\n\r\n" ..
      tostring(fields[name]) .. "\r\n"
  end
  if file then
    out[#out + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. file.name ..
      "\"; filename=\"" .. file.filename .. "\"\r\nContent-Type: " .. file.content_type .. "\r\n\r\n"
    out[#out + 1] = file.data
    out[#out + 1] = "\r\n"
  end
  out[#out + 1] = "--" .. boundary .. "--\r\n"
  return table.concat(out), "multipart/form-data; boundary=" .. boundary
end

--- POST a multipart form (fields and an optional file); returns the decoded JSON answer.
function Client:post_form(path, fields, file, timeout)
  local body, content_type = M.multipart(fields, file)
  local status, answer = self:request(path, {
    method = "POST", body = body, timeout = timeout, headers = { ["content-type"] = content_type },
  })
  if not status then
    return nil, answer
  end
  return decode_answer(status, answer)
end

--- GET `url` into the file `path`; returns true.
function Client:download(url, path, timeout)
  local handle, open_err = io.open(path, "wb")
  if not handle then
    return fail("io", "cannot write " .. path .. ": " .. tostring(open_err))
  end
  local status, err = self:request(url, {
    timeout = timeout, headers = { accept = "audio/wav" }, sink = self.lib and self.lib.ltn12.sink.file(handle),
  })
  pcall(io.close, handle) -- ltn12's file sink closes it at the end of a body, not after an error
  if not status then
    os.remove(path)
    return nil, err
  end
  if status ~= 200 then
    os.remove(path)
    return fail("http", string.format("HTTP %d for %s", status, url), status)
  end
  return true
end

return M
