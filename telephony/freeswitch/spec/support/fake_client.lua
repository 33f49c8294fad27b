--- A stand-in for voice_ai.http's client in unit specs: answers are queued per endpoint ("start", "turn",
--- "events", "end", "download"); every request is recorded in `requests`, with `at` = what `mark()` returned
--- (the harness sets it to the emulator's event count, so a spec can tell what happened before a request).
local M = {}

local Fake = {}
Fake.__index = Fake

function M.new(answers)
  return setmetatable({ answers = answers or {}, requests = {}, clock = 0, mark = function() return nil end }, Fake)
end

local function endpoint(path)
  if path == "/api/v1/calls" then
    return "start"
  end
  local name = path:match("/([%w-]+)$")
  return name == "turns" and "turn" or name
end

function Fake:next_answer(name)
  local queue = self.answers[name]
  if type(queue) == "function" then
    return queue(self)
  end
  if type(queue) ~= "table" or #queue == 0 then
    return nil, { kind = "connect", message = "fake: no answer queued for " .. name }
  end
  local item = #queue > 1 and table.remove(queue, 1) or queue[1]
  if item.error then
    return nil, item.error
  end
  return item
end

function Fake:now()
  self.clock = self.clock + 0.01
  return self.clock
end

local function answered()
  local session = rawget(_G, "session")
  return session ~= nil and session:answered()
end

function Fake:post_json(path, payload, timeout)
  local name = endpoint(path)
  self.requests[#self.requests + 1] = {
    endpoint = name, path = path, payload = payload, timeout = timeout, answered = answered(), at = self.mark(),
  }
  return self:next_answer(name)
end

function Fake:post_form(path, fields, file, timeout)
  local name = endpoint(path)
  self.requests[#self.requests + 1] = {
    endpoint = name, path = path, payload = fields, file = file, timeout = timeout, at = self.mark(),
  }
  return self:next_answer(name)
end

function Fake:download(url, path)
  self.requests[#self.requests + 1] = { endpoint = "download", url = url, path = path }
  local source = (self.answers.audio or {})[url]
  if not source then
    return nil, { kind = "http", message = "HTTP 404 for " .. url, status = 404 }
  end
  local input = assert(io.open(source, "rb"))
  local output = assert(io.open(path, "wb"))
  output:write(input:read("*a"))
  input:close()
  output:close()
  return true
end

--- Requests made to one endpoint.
function Fake:made(name)
  local found = {}
  for _, r in ipairs(self.requests) do
    if r.endpoint == name then
      found[#found + 1] = r
    end
  end
  return found
end

return M
