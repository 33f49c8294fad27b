--- Run by FreeSWITCH on the department's leg of an announced transfer (docs/transfers.md, "The announced
--- transfer"), not by a dialplan of yours. Both call flows ring the department with originate's group confirm (the
--- turn-based flow through freeswitch.Session, the streaming service through the `bridge` application):
---   {group_confirm_key=exec,group_confirm_file=lua <scripts>/voice_ai_announce.lua <line.wav> <caller uuid>,…}
--- When the department answers, originate runs this on the answered leg (the caller is still ringing: a phone that
--- rang first keeps the caller's ringback going): the line (who is calling and why) plays, and the person presses 1
--- to take the call. Any other key, silence (twice, 5 s after the line) or hanging up declines it. The caller's
--- channel gets `voice_ai_announce=answered` before the line plays, so the call flow reads, when the attempt fails,
--- that the person answered and did not take the call (DECLINED). A leg still up when this returns is the one
--- originate connects.
---
--- mod_lua provides `session`, `freeswitch` and `argv` as globals; voice_ai.transfer takes them as parameters.
local here = (debug.getinfo(1, "S").source or ""):match("^@(.+)/[^/]+$")
if here then
  package.path = here .. "/?.lua;" .. package.path
end

local loaded, transfer = pcall(require, "voice_ai.transfer")
if not loaded then
  -- cannot ask: the transfer goes on unannounced rather than losing the caller
  session:consoleLog("crit", "[voice_ai] announced transfer: voice_ai/transfer.lua did not load (" ..
    tostring(transfer) .. "): connecting unannounced\n")
  return
end
transfer.confirm(session, freeswitch.API(), argv and argv[1], argv and argv[2])
