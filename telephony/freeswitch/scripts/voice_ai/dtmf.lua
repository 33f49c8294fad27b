--- DTMF is handled here, deterministically, never by the language model:
---   0  at any time          → transfer to the operator
---   *  at any time          → repeat the last thing the secretary said
---   #  while recording      → the caller finished speaking (stop recording now)
---   any key while playing   → interrupt the prompt (the caller wants to speak); not # — a # pressed to end
---                             speech may only reach us when the reply starts (keys queue while the
---                             script waits for the service) and must not cut the reply
--- mod_lua calls the input callback by its global name; the entry script owns that global and forwards
--- here. The callback's return value is FreeSWITCH's: "break" stops the current playback/recording (or the
--- sleep the recording loop waits in), nil lets it go on.
local M = {}

local Keys = {}
Keys.__index = Keys

function M.new()
  return setmetatable({ pending = nil, pressed = {}, stopped = false }, Keys)
end

--- Handle one key during `phase` ("playback", "record", …). Returns the value for FreeSWITCH.
function Keys:on_digit(digit, phase)
  self.pressed[#self.pressed + 1] = digit
  local answer
  if digit == "0" then
    self.pending = "operator"
    answer = "break"
  elseif digit == "*" then
    if self.pending ~= "operator" then
      self.pending = "repeat"
    end
    answer = "break"
  elseif phase == "playback" and digit ~= "#" then
    self.pending = self.pending or "interrupt"
    answer = "break"
  elseif digit == "#" and phase == "record" then
    answer = "break"
  end
  if answer then
    self.stopped = true
  end
  return answer
end

--- Whether a key asked to stop what is going on since the last call (cleared).
function Keys:take_stop()
  local stopped = self.stopped
  self.stopped = false
  return stopped
end

--- The request the caller made with a key since the last call ("operator", "repeat", "interrupt"), cleared.
function Keys:take()
  local request = self.pending
  self.pending = nil
  return request
end

--- Keys pressed since the last call, as a string (for the call log), cleared.
function Keys:drain()
  local digits = table.concat(self.pressed)
  self.pressed = {}
  return digits
end

return M
