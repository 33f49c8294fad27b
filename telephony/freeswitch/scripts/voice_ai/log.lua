--- Logging through the session's own logger (`session:consoleLog`), so FreeSWITCH ties every line to the call
--- (its log shows the call uuid in front of the line, and `fs_cli`'s `/uuid` filter finds it). Without a
--- session (or before one exists) lines go through `freeswitch.consoleLog`, tagged with the uuid by hand.
---   [voice_ai] message
--- Secrets never reach the log: the caller of this module logs events, not request headers.
local M = {}

local LEVELS = { debug = "DEBUG", info = "INFO", notice = "NOTICE", warning = "WARNING", err = "ERR", crit = "CRIT" }

--- A logger bound to one call: `session` (may be nil), `fs` the `freeswitch` table, `uuid` the call's.
function M.new(session, fs, uuid)
  local logger = { uuid = uuid or "-" }
  local function write(level, fmt, ...)
    local ok, text = pcall(string.format, fmt, ...)
    if not ok then
      text = tostring(fmt)
    end
    if session and session.consoleLog then
      session:consoleLog(level, "[voice_ai] " .. text .. "\n")
    else
      fs.consoleLog(level, string.format("[voice_ai] [%s] %s\n", logger.uuid, text))
    end
  end
  for name, level in pairs(LEVELS) do
    logger[name] = function(_, fmt, ...)
      write(level, fmt, ...)
    end
  end
  return logger
end

return M
