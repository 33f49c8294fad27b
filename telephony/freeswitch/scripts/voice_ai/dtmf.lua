--- DTMF is handled here, deterministically, never by the language model:
---   0  at any time          → transfer to the operator
---   *  at any time          → repeat the last thing the secretary said
---   #  while recording      → the caller finished speaking (stop recording now)
---   any key while playing   → interrupt the prompt (the caller wants to speak); not # — a # pressed to end
---                             speech may only reach us when the reply starts (keys queue while the
---                             script waits for the service) and must not cut the reply
--- mod_lua calls the input callback by its global name; the entry script owns that global and forwards
--- here. The callback's return value is FreeSWITCH's: "break" stops the current playback/recording,
--- nil lets it go on.
local M = {}

local Keys = {}
Keys.__index = Keys

function M.new()
  return setmetatable({ pending = nil, pressed = {} }, Keys)
end

--- Handle one key during `phase` ("playback" or "record"). Returns the value for FreeSWITCH.
function Keys:on_digit(digit, phase)
  self.pressed[#self.pressed + 1] = digit
  if digit == "0" then
    self.pending = "operator"
    return "break"
  elseif digit == "*" then
    if self.pending ~= "operator" then
      self.pending = "repeat"
    end
    return "break"
  elseif phase == "playback" and digit ~= "#" then
    self.pending = self.pending or "interrupt"
    return "break"
  elseif digit == "#" and phase == "record" then
    return "break"
  end
  return nil
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
