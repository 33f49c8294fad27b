--- Call settings, read from channel variables (which FreeSWITCH falls back to global variables for, so
--- `vars.xml` can hold installation-wide defaults) and from the script's arguments.
---
---   argv[1]                          secretary (uuid or extension); else `voice_ai_secretary`
---   domain_uuid, domain_name         set by FusionPBX (or by the dialplan on plain FreeSWITCH)
---   voice_ai_url                     service base URL            (default http://127.0.0.1:8100)
---   voice_ai_token                   bearer token when the service requires one (keep it in vars.xml)
---   voice_ai_connect_timeout         seconds to connect          (default 2)
---   voice_ai_timeout                 seconds for start/events    (default 8)
---   voice_ai_turn_timeout            seconds for one turn        (default 15: the caller hears silence)
---   voice_ai_speech_timeout          seconds a caller may take to start speaking after a prompt before the
---                                    turn counts as silent       (default 5)
---   voice_ai_fallback_destination    where to send the caller when the service cannot even start the call
---   voice_ai_fallback_context        its context                 (default domain_name)
---   voice_ai_language                language of the local sounds before the service answers (default pt-BR)
---   voice_ai_sounds_dir              local sounds                (default $${sounds_dir}/voice_ai)
---   voice_ai_tmp_dir                 recordings and replies      (default $${temp_dir}, else /tmp)
---   voice_ai_audio_path              "true": send the recording's path instead of uploading it (service on
---                                    this host with VOICE_AI_RECORDINGS_DIR covering voice_ai_tmp_dir)
---   voice_ai_keep_recordings         "true": leave the caller's recordings on disk
---   voice_ai_transfer_mode           "bridge" (default): ring the department for the rule's time and bring the
---                                    caller back to the secretary when nobody answers; "blind": a one-way
---                                    dialplan transfer (docs/transfers.md)
local M = {}

M.DEFAULT_URL = "http://127.0.0.1:8100"

local function number(value, default, min, max)
  local n = tonumber(value)
  if not n or n < min or n > max then
    return default
  end
  return n
end

local function truthy(value)
  return value ~= nil and ({ ["true"] = true, ["yes"] = true, ["1"] = true, ["on"] = true })[value:lower()] == true
end

local function blank(value)
  return value == nil or value == "" or value == "_undef_"
end

--- Read the configuration for this call. Returns a table; `problems` lists what is missing.
function M.load(session, argv)
  local function var(name)
    local value = session:getVariable(name)
    if blank(value) then
      return nil
    end
    return value
  end

  local cfg = {
    secretary = (argv and not blank(argv[1]) and argv[1]) or var("voice_ai_secretary"),
    domain_uuid = var("domain_uuid"),
    domain_name = var("domain_name"),
    call_uuid = var("uuid") or session:get_uuid(),
    caller_id_number = var("caller_id_number"),
    caller_id_name = var("caller_id_name"),
    destination_number = var("destination_number"),
    url = (var("voice_ai_url") or M.DEFAULT_URL):gsub("/+$", ""),
    token = var("voice_ai_token"),
    connect_timeout = number(var("voice_ai_connect_timeout"), 2, 0.1, 30),
    timeout = number(var("voice_ai_timeout"), 8, 0.5, 120),
    turn_timeout = number(var("voice_ai_turn_timeout"), 15, 1, 300),
    speech_timeout = number(var("voice_ai_speech_timeout"), 5, 1, 60),
    fallback_destination = var("voice_ai_fallback_destination"),
    language = var("voice_ai_language") or "pt-BR",
    audio_path = truthy(var("voice_ai_audio_path")),
    keep_recordings = truthy(var("voice_ai_keep_recordings")),
    transfer_mode = (var("voice_ai_transfer_mode") or "bridge"):lower() == "blind" and "blind" or "bridge",
  }
  cfg.fallback_context = var("voice_ai_fallback_context") or cfg.domain_name or "default"
  local sounds = var("sounds_dir")
  cfg.sounds_dir = var("voice_ai_sounds_dir") or ((sounds or "/usr/share/freeswitch/sounds") .. "/voice_ai")
  cfg.tmp_dir = (var("voice_ai_tmp_dir") or var("temp_dir") or "/tmp"):gsub("/+$", "")

  cfg.problems = {}
  if not cfg.domain_uuid then
    cfg.problems[#cfg.problems + 1] = "channel variable domain_uuid is not set"
  end
  if not cfg.secretary then
    cfg.problems[#cfg.problems + 1] = "no secretary: pass it as the script argument or set voice_ai_secretary"
  end
  if not cfg.url:match("^https?://[%w%.%-%[%]:]+") then
    cfg.problems[#cfg.problems + 1] = "voice_ai_url is not an http(s) URL: " .. cfg.url
  end
  return cfg
end

--- A local sound for `name` in the call's language (falls back to pt-BR, which is always installed).
function M.sound(cfg, name, language)
  local lang = language or cfg.language or "pt-BR"
  return { cfg.sounds_dir .. "/" .. lang .. "/" .. name .. ".wav", cfg.sounds_dir .. "/pt-BR/" .. name .. ".wav" }
end

return M
