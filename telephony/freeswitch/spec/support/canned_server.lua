--- A one-shot HTTP server for the http specs, run as its own process:
---   lua5.3 canned_server.lua <status> <content-type> <body file or -> [delay seconds] [request dump file]
--- prints the port it listens on, answers one request with the canned response (after the delay) and exits.
local socket = require("socket")

local status, content_type, body_file, delay = tonumber(arg[1]), arg[2], arg[3], tonumber(arg[4] or "0")
local dump = arg[5]
local body = ""
if body_file ~= "-" then
  local handle = assert(io.open(body_file, "rb"))
  body = handle:read("*a")
  handle:close()
end
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
io.stdout:write(port, "\n")
io.stdout:flush()
server:settimeout(10)
local client = server:accept()
if client then
  client:settimeout(5)
  local request = {}
  local length = 0
  while true do
    local line = client:receive("*l")
    if not line or line == "" then
      break
    end
    request[#request + 1] = line
    length = tonumber(line:lower():match("^content%-length:%s*(%d+)")) or length
  end
  local payload = length > 0 and client:receive(length) or ""
  if dump then
    local out = assert(io.open(dump, "wb"))
    out:write(table.concat(request, "\n"), "\n\n", payload or "")
    out:close()
  end
  if delay > 0 then
    socket.sleep(delay)
  end
  client:send(string.format("HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
    status, content_type, #body, body))
  client:close()
end
server:close()
