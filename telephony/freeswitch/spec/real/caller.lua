--- The caller of an end-to-end test on the real FreeSWITCH (tests/real_freeswitch.py): runs on the loopback
--- call's A leg, records the whole call in stereo (left: what the caller hears; right: what the caller says)
--- and follows a scenario file, one step a line:
---
---   listen [timeout_ms]        wait until the secretary has spoken and fallen silent for 0.6 s
---   hear [timeout_ms]          wait until the secretary is speaking (its first pause between words)
---   say <wav>                  speak a WAV (8 kHz mono)
---   pause <ms>                 stay silent, sending line noise (a phone keeps sending audio)
---   quiet <ms>                 stay silent sending no audio at all (comfort noise only)
---   dtmf <digits>              press keys
---   hangup                     hang up
---
--- Between steps the line carries low-level noise, as a real phone's does. Each step is written, with the
--- time since the recording started, as a JSON line to the marks file; the last line sums the call up.
---
--- The call's folder is the channel variable `test_call_folder` (originate's &lua() takes no spaces): steps.txt
--- in; call.wav, marks.jsonl and, at the end, an empty file `done` out.
local folder = session:getVariable("test_call_folder")
local scenario_path, recording, marks_path = folder .. "/steps.txt", folder .. "/call.wav", folder .. "/marks.jsonl"
local LISTEN_THRESHOLD = 200 -- energy (mean |sample|) that counts as the secretary speaking
local NOISE = "silence_stream://%d,400" -- line noise: random samples of amplitude ~80

local ok_socket, socket = pcall(require, "socket")
local function now_ms()
  if ok_socket then
    return math.floor(socket.gettime() * 1000)
  end
  return os.time() * 1000
end

local started = now_ms()
local marks = assert(io.open(marks_path, "w"))

local function quote(value)
  return '"' .. tostring(value):gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function mark(fields)
  fields.t = now_ms() - started
  local parts = {}
  for k, v in pairs(fields) do
    parts[#parts + 1] = quote(k) .. ":" .. (type(v) == "number" and tostring(v) or quote(v))
  end
  marks:write("{" .. table.concat(parts, ",") .. "}\n")
  marks:flush()
end

local other = session:getVariable("other_loopback_leg_uuid")
session:execute("record_session", recording .. " +600 {RECORD_STEREO=true,RECORD_MIN_SEC=0,RECORD_PRE_BUFFER_FRAMES=0}")
started = now_ms()
mark({ step = "start", other_uuid = other or "" })

-- Wait for the secretary's voice with a media bug of its own (record_session's silence detection: energy per
-- frame, wall-clock timeouts). wait_for_silence cannot do it here: it only scores frames that carry an RTP
-- sequence number, and loopback frames have none. The bug mixes what the caller hears with the caller's own
-- line noise (far below the threshold), so frames keep coming while the secretary is silent.
local detections = 0
local function detect(initial_ms, final_ms)
  detections = detections + 1
  local file = string.format("%s/detect_%d.wav", folder, detections)
  session:setVariable("record_completion_cause", "")
  session:execute("record_session", string.format("%s +%d {RECORD_INITIAL_TIMEOUT_MS=%d,RECORD_FINAL_TIMEOUT_MS=%d," ..
    "RECORD_SILENCE_THRESHOLD=%d,RECORD_MIN_SEC=0,RECORD_PRE_BUFFER_FRAMES=0}", file, initial_ms // 1000 + 60,
    initial_ms, final_ms, LISTEN_THRESHOLD))
  local cause
  while session:ready() do
    session:streamFile(string.format(NOISE, 40))
    cause = session:getVariable("record_completion_cause")
    if cause and cause ~= "" then
      break
    end
  end
  session:execute("stop_record_session", file)
  os.remove(file)
  return cause == "success-silence"
end

for line in io.lines(scenario_path) do
  if not session:ready() then
    break
  end
  local step, arg = line:match("^(%S+)%s*(.-)%s*$")
  if step == "listen" then
    -- the secretary spoke, then 0.6 s of silence (a person's turn-taking gap)
    local heard = detect(tonumber(arg) or 30000, 600)
    mark({ step = "listen", heard = heard and "yes" or "no" })
  elseif step == "hear" then
    -- the first pause after the secretary started speaking (between words): a moment into the prompt
    local heard = detect(tonumber(arg) or 30000, 1)
    mark({ step = "hear", heard = heard and "yes" or "no" })
  elseif step == "say" then
    mark({ step = "say_start", file = arg })
    session:streamFile(arg)
    mark({ step = "say_end", file = arg })
  elseif step == "pause" then
    session:streamFile(string.format(NOISE, tonumber(arg)))
    mark({ step = "pause", ms = tonumber(arg) })
  elseif step == "quiet" then
    session:sleep(tonumber(arg))
    mark({ step = "quiet", ms = tonumber(arg) })
  elseif step == "dtmf" then
    session:execute("send_dtmf", arg)
    mark({ step = "dtmf", digits = arg })
  elseif step == "hangup" then
    mark({ step = "hangup" })
    session:hangup("NORMAL_CLEARING")
  elseif step then
    mark({ step = "unknown", line = line })
  end
end

-- stay on the line (sending noise) until the other side hangs up or transfers away and hangs up
while session:ready() do
  session:streamFile(string.format(NOISE, 1000))
end
mark({ step = "end", other_uuid = other or "", hangup_cause = session:hangupCause() or "" })
marks:close()
local done = io.open(folder .. "/done", "w")
if done then
  done:close()
end
