--- Logging through freeswitch.consoleLog, every line tagged with the call uuid:
---   [voice_ai] [<uuid>] message
--- Secrets never reach the log: the caller of this module logs events, not request headers.
local M = {}

local LEVELS = { debug = "DEBUG", info = "INFO", notice = "NOTICE", warning = "WARNING", err = "ERR", crit = "CRIT" }

--- A logger bound to one call. `fs` is the `freeswitch` table given to the script (consoleLog(level, text)).
function M.new(fs, uuid)
  local logger = { uuid = uuid or "-" }
  local function write(level, fmt, ...)
    local ok, text = pcall(string.format, fmt, ...)
    if not ok then
      text = tostring(fmt)
    end
    fs.consoleLog(level, string.format("[voice_ai] [%s] %s\n", logger.uuid, text))
  end
  for name, level in pairs(LEVELS) do
    logger[name] = function(_, fmt, ...)
      write(level, fmt, ...)
    end
  end
  return logger
end

return M
