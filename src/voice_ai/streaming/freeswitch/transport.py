"""The FreeSWITCH media transport of a streaming call (:class:`voice_ai.streaming.contracts.MediaTransport`).

Audio out: a clip goes to mod_audio_stream over the call's WebSocket as ``streamAudio`` JSON (a WAV, with the
clip's id as an extra ``clip`` field, which the module keeps) as soon as the call hands it over; the module writes it
to a file and fires ``mod_audio_stream::play`` with the data and the file's path. The transport keeps its own queue
and gives FreeSWITCH **one clip at a time**: ``playback <file>`` (``event-lock``) for the first clip in order whose
file exists, and the next one only when PLAYBACK_STOP of the current one arrives (queued playbacks would start inside
each other without ``event-lock``; with it they play in order, but a pause could then land on a clip other than the
one we meant). PLAYBACK_START / PLAYBACK_STOP (``Playback-Status``: ``done`` or ``break``) tell the call what the
caller heard.

Pause (a possible barge-in): the transport is *held* — no next clip starts — and the clip in FreeSWITCH, if any, gets
``uuid_fileman <uuid> pause``. That command toggles the file playing at that instant and answers ``-ERR No file
handle!`` when none plays, so the transport remembers the pause as *landed* only on ``+OK`` (a clip handed over but
not yet opened gets the pause when its PLAYBACK_START arrives). Since only the current clip is ever in FreeSWITCH,
a toggle can only hit that clip. Resume: unhold, toggle back a pause that landed on a clip still playing, else start
the next queued clip. Barge-in (stop): ``uuid_break <uuid> all`` stops the playing file (paused or not) and the
queue is dropped; a clip whose ``::play`` event arrives after that is not played.

Ring (a transfer that may come back, :meth:`FreeswitchTransport.ring`): the ``bridge`` application queued on the parked
call with ``continue_on_fail`` — CHANNEL_BRIDGE: answered, the call is handed over; the bridge's
CHANNEL_EXECUTE_COMPLETE: its ``originate_disposition`` is the cause, and the call stays ours (docs/transfers.md).
Announced (the rule's ``announce``): the line goes to mod_audio_stream like a clip, but only to have it written as
a file on the FreeSWITCH host (:meth:`FreeswitchTransport.stage`); the bridge's originate gets a group confirm that
runs ``voice_ai_announce.lua`` on the department's leg when it answers — the line, then 1 to take the call — while
the caller is still ringing (a phone that rang first keeps the caller's ringback going). The script marks the
caller's channel ``voice_ai_announce=answered`` before the line plays: a bridge that fails after that mark was
declined (DECLINED).

One-way transfer (the fall-backs): the turn-based flow's channel variables and its transfer string
(``XML,inline:lua:<scripts>/voice_ai_no_route.lua`` — a transfer that does not route reaches the no-route script,
which tells the service and sends the caller to the operator), through ``uuid_transfer``; the audio stream stops
first. Failure: the channel's ``voice_ai_stream_error`` says why, and the event socket closes: FreeSWITCH resumes
the entry script (``socket_resume``), which plays the local apology and sends the caller to the fallback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
from collections import deque
from typing import Any, Protocol

from voice_ai.conversation.transfer_return import failure_kind
from voice_ai.streaming.contracts import CALLER_LEFT, Clip
from voice_ai.streaming.freeswitch.channel import (
    ChannelInfo,
    literal_pattern,
    safe_context,
    safe_destination,
)
from voice_ai.streaming.freeswitch.esl import EslConnection, EslError, EslEvent

logger = logging.getLogger(__name__)

NO_ROUTE_SCRIPT = "voice_ai_no_route.lua"
ANNOUNCE_SCRIPT = "voice_ai_announce.lua"  # an announced transfer's group confirm, on the department's leg
ANSWER_WAIT_S = 5  # after each play of the announcement (voice_ai/transfer.lua's ANSWER_WAIT_MS)
STAGE_S = 5.0  # how long mod_audio_stream may take to write the announcement's file
FILE_PATH = re.compile(r"^/[A-Za-z0-9._/-]{1,255}$")  # a file the module wrote (one plain token for the lua app)
RINGBACK = "%(1000,4000,425)"  # Brazil's ring tone, as the Lua flow's (a channel's own ringback wins)
RING_GRACE_S = 15.0  # past the ring time, FreeSWITCH has not said how the bridge ended: give up on it
CALLER_GONE_S = 2.0  # an early NO_ANSWER: how long the caller's hang-up may take to arrive


class TextSocket(Protocol):
    async def send_text(self, data: str) -> None: ...


class PlaybackListener(Protocol):
    """Who hears about playback (the streaming call)."""

    def playback_started(self, clip_id: str) -> None: ...

    def playback_stopped(self, clip_id: str, *, finished: bool) -> None: ...


class FreeswitchTransport:
    """One call's audio and actions; see the module's docstring."""

    def __init__(self, esl: EslConnection, ws: TextSocket, channel: ChannelInfo, *, sample_rate: int = 8000) -> None:
        self.esl = esl
        self.ws = ws
        self.channel = channel
        self.sample_rate = sample_rate
        self.listener: PlaybackListener | None = None
        self.ended: str | None = None  # "transfer" | "hangup" | "fail": the call is no longer ours
        self.finished = asyncio.Event()  # set with ``ended`` (and by the session when the caller leaves)
        self.operator: tuple[str, str] | None = None  # the secretary's operator (for the no-route script)
        self.conversation_uuid: str | None = None
        self.language: str | None = None
        self.turns = 0
        self._queue: deque[str] = deque()  # clips handed to the module, in order, not yet given to FreeSWITCH
        self._ready: dict[str, str] = {}  # clip id → the file the module wrote for it
        self._files: dict[str, str] = {}  # file given to FreeSWITCH → clip id (until its PLAYBACK_STOP)
        self._dropped: set[str] = set()
        self._ringing: asyncio.Future[str | None] | None = None  # ring(): None (answered) or the failure cause
        self._announced = False  # the ringing has a group confirm (an announced transfer)
        self._staged: dict[str, asyncio.Future[str]] = {}  # stage(): clip id → the file the module wrote
        self._caller_left = asyncio.Event()
        self._current: str | None = None  # the clip in FreeSWITCH (``playback`` sent, no PLAYBACK_STOP yet)
        self._opened = False  # PLAYBACK_START of the current clip seen
        self._held = False  # paused: no next clip starts
        self._landed: str | None = None  # the clip a pause toggled (+OK): the resume toggles it back
        self._commands = asyncio.Lock()  # playback / pause / resume / break reach FreeSWITCH in the order decided
        self.events: list[dict[str, Any]] = []  # emit()'s, kept for observers and tests

    @property
    def uuid(self) -> str:
        return self.channel.call_uuid

    # MediaTransport -------------------------------------------------------------------------------------

    async def play(self, clip: Clip) -> None:
        if self.ended:
            return
        self._queue.append(clip.id)
        await self._send_audio(clip)

    async def _send_audio(self, clip: Clip) -> None:
        """``streamAudio`` to mod_audio_stream: it writes the WAV to a file and fires ``::play`` with its path."""
        data = {"audioDataType": "wav", "sampleRate": clip.audio.sample_rate, "clip": clip.id}
        data["audioData"] = base64.b64encode(clip.audio.wav()).decode("ascii")
        await self.ws.send_text(json.dumps({"type": "streamAudio", "data": data}, separators=(",", ":")))

    async def stop_playback(self) -> None:
        self._dropped.update(self._queue)
        self._queue.clear()
        self._ready.clear()
        self._held, self._landed = False, None
        if not self.ended:
            async with self._commands:
                await self._api(f"uuid_break {self.uuid} all")  # also stops a paused file (seen on 1.10.12)
                # a playback not yet started is flushed with no event at all: the next clip must not wait for it
                self._current, self._opened = None, False

    async def pause_playback(self) -> None:
        if self._held or self.ended:
            return
        self._held = True
        async with self._commands:
            await self._pause_current()

    async def resume_playback(self) -> None:
        if not self._held:
            return
        self._held = False
        async with self._commands:
            landed, self._landed = self._landed, None
            if landed is not None and landed == self._current and not self.ended:
                answer = await self._api(f"uuid_fileman {self.uuid} pause")  # toggles it back
                if not answer.startswith("+OK"):
                    logger.info("call %s: the resume found no file to toggle: %s", self.uuid, answer)
        await self._next()

    async def transfer(self, destination: str, context: str | None) -> None:
        context = context or self.channel.fallback_context
        if not safe_destination(destination) or not safe_context(context):
            raise ValueError(f"not a dialplan destination: {destination!r}@{context!r}")
        if self.ended:
            return
        self.ended = "transfer"
        self.finished.set()
        assert context is not None
        operator, operator_context = self.operator or (self.channel.fallback_destination, self.channel.fallback_context)
        await self._set_vars(
            {
                # what voice_ai_no_route.lua reads (callflow.lua's Call:remember_transfer)
                "voice_ai_transfer_destination": destination,
                "voice_ai_transfer_context": context,
                "voice_ai_transfer_pattern": literal_pattern(destination),
                "voice_ai_transfer_outcome": "transferred",
                "voice_ai_transfer_attempts": "1",
                "voice_ai_call_language": self.language,
                "voice_ai_call_started": "true" if self.conversation_uuid else "false",
                "voice_ai_call_turns": str(self.turns),
                "voice_ai_operator_destination": operator,
                "voice_ai_operator_context": operator_context,
                "voice_ai_conversation_uuid": self.conversation_uuid,
                # a later blind transfer by whoever takes the call must not reuse our dialplans
                "force_transfer_dialplan": "XML",
                # the call is no longer the entry script's to resume when our event socket closes
                "socket_resume": "false",
            }
        )
        await self._api(f"uuid_audio_stream {self.uuid} stop")
        answer = await self._api(f"uuid_transfer {self.uuid} {destination} {self.dialplans()} {context}")
        if answer.startswith("-ERR"):
            logger.error("call %s: transfer to %s@%s refused: %s", self.uuid, destination, context, answer)
            await self.fail(f"FreeSWITCH refused the transfer to {destination}@{context}", force=True)

    async def ring(
        self, destination: str, context: str | None, ring_seconds: int, announcement: Clip | None = None
    ) -> str | None:
        """Ring ``destination`` with the ``bridge`` application on the parked call (``continue_on_fail``: a failed
        bridge leaves the caller with us; checked on FreeSWITCH 1.10.12, docs/transfers.md): the caller hears the
        ringback meanwhile; CHANNEL_BRIDGE → connected (the audio stream stops, the call is no longer ours: None);
        the bridge's CHANNEL_EXECUTE_COMPLETE → its ``originate_disposition`` (NO_ANSWER, USER_BUSY…), or DECLINED
        when the person heard ``announcement`` and did not take the call. An announcement that cannot be staged
        rings unannounced."""
        context = context or self.channel.fallback_context
        if not safe_destination(destination) or not safe_context(context):
            raise ValueError(f"not a dialplan destination: {destination!r}@{context!r}")
        if self.ended or self._caller_left.is_set():
            return CALLER_LEFT
        assert context is not None
        channel = self.channel
        ringback = channel.variable("transfer_ringback") or channel.variable("ringback") or RINGBACK
        await self._set_vars(
            {"continue_on_fail": "true", "hangup_after_bridge": "true", "transfer_ringback": _one_line(ringback)}
        )
        options = [f"originate_timeout={ring_seconds}", "ignore_early_media=true", f"voice_ai_call_uuid={self.uuid}"]
        if channel.domain_uuid is not None:  # what a FusionPBX dialplan expects on the new leg
            options.append(f"domain_uuid={channel.domain_uuid}")
        if safe_context(channel.domain_name):
            options.append(f"domain_name={channel.domain_name}")
        leg, confirm_s = "", 0
        path = await self.stage(announcement) if announcement is not None else None
        if announcement is not None and path is not None:
            # originate_timeout bounds the whole attempt; the leg rings ring_seconds (leg_timeout), and once it
            # answers the group confirm gets confirm_s more (group_confirm_timeout) — the script bounds itself too
            confirm_s = confirm_seconds(announcement)
            options[0] = f"originate_timeout={ring_seconds + confirm_s}"
            script = f"lua {self._script(ANNOUNCE_SCRIPT)} {path} {self.uuid}"
            options += ["group_confirm_key=exec", f"group_confirm_file={script}", f"group_confirm_timeout={confirm_s}"]
            leg = f"[leg_timeout={ring_seconds}]"
            await self._set_vars({"voice_ai_announce": None})
        self._announced = path is not None
        self._ringing = asyncio.get_running_loop().create_future()
        started = asyncio.get_running_loop().time()
        try:
            await self.esl.execute(
                "bridge", f"{{{','.join(options)}}}{leg}loopback/{destination}/{context}", event_lock=True
            )
            cause = await asyncio.wait_for(asyncio.shield(self._ringing), ring_seconds + confirm_s + RING_GRACE_S)
        except (EslError, TimeoutError) as exc:
            logger.warning("call %s: ringing %s@%s: %s", self.uuid, destination, context, exc)
            await self._api(f"uuid_break {self.uuid} all")
            cause = "RECOVERY_ON_TIMER_EXPIRE"
        finally:
            self._ringing = None
        early = asyncio.get_running_loop().time() - started < ring_seconds - 0.5
        if cause is not None and early and failure_kind(cause) == "no_answer" and cause != "DECLINED":
            # a caller who hangs up while it rings ends the attempt NO_ANSWER before the ring time (as in the Lua flow)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._caller_left.wait(), CALLER_GONE_S)
        if self._caller_left.is_set():
            return CALLER_LEFT
        if cause is not None:  # back with us: a later one-way transfer's dialplan gets the channel as it was
            await self._set_vars({name: channel.variable(name) for name in ("continue_on_fail", "hangup_after_bridge")})
            return cause
        self.ended = "transfer"
        await self._set_vars({"socket_resume": "false", "force_transfer_dialplan": "XML"})
        await self._api(f"uuid_audio_stream {self.uuid} stop")
        self.finished.set()
        return None

    def caller_left(self) -> None:
        """The caller's channel hung up (the session saw CHANNEL_HANGUP)."""
        self._caller_left.set()
        if self._ringing is not None and not self._ringing.done():
            self._ringing.set_result(CALLER_LEFT)

    async def hangup(self) -> None:
        if self.ended:
            return
        self.ended = "hangup"
        self.finished.set()
        await self._set_vars({"socket_resume": "false"})
        answer = await self._api(f"uuid_kill {self.uuid} NORMAL_CLEARING")
        if answer.startswith("-ERR") and "No such channel" not in answer:  # still up: never leave it parked
            await self.fail(f"FreeSWITCH refused the hang-up: {answer}", force=True)

    async def fail(self, reason: str, *, force: bool = False) -> None:
        if self.ended and not force:
            return
        self.ended = "fail"
        self.finished.set()
        logger.warning("call %s: handing the caller to the entry script's fallback: %s", self.uuid, reason)
        # socket_resume again: a transfer or hang-up that FreeSWITCH refused had set it to false, and a closed
        # socket without it leaves the caller parked in silence
        await self._set_vars({"voice_ai_stream_error": _one_line(reason), "socket_resume": "true"})
        await self._api(f"uuid_audio_stream {self.uuid} stop")
        await self._api(f"uuid_break {self.uuid} all")
        await self.esl.close()  # FreeSWITCH resumes the entry script (socket_resume): apology + fallback

    async def remember_start(self) -> None:
        """Once the conversation exists: the entry script's rescue (the service dies later) plays the apology in
        the call's language and takes the caller to the secretary's operator, as the turn-based flow does."""
        values: dict[str, str | None] = {"voice_ai_call_language": self.language}
        if self.operator is not None:
            values["voice_ai_fallback_destination"], values["voice_ai_fallback_context"] = self.operator
        await self._set_vars(values)

    async def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    # What FreeSWITCH tells us -----------------------------------------------------------------------------

    async def on_event(self, event: EslEvent) -> None:
        """A call event from the event socket (those about playback; the session handles the rest)."""
        ringing = self._ringing
        if ringing is not None and not ringing.done():
            if event.name == "CHANNEL_BRIDGE":
                ringing.set_result(None)
                return
            if event.name == "CHANNEL_EXECUTE_COMPLETE" and event.get("Application") == "bridge":
                if self._announced and event.get("variable_voice_ai_announce") == "answered":
                    ringing.set_result("DECLINED")  # the person heard the announcement and did not press 1
                else:
                    ringing.set_result(event.get("variable_originate_disposition") or "NORMAL_CLEARING")
                return
        if event.subclass == "mod_audio_stream::play":
            await self._on_file(event.body)
        elif event.name == "PLAYBACK_START":
            clip = self._files.get(event.get("Playback-File-Path"))
            if clip is None:
                return
            if clip == self._current:
                self._opened = True
                if self._held and self._landed is None:  # held before the file was open: pause it now
                    async with self._commands:
                        await self._pause_current()
            if self.listener is not None:
                self.listener.playback_started(clip)
        elif event.name == "PLAYBACK_STOP":
            clip = self._files.pop(event.get("Playback-File-Path"), None)
            if clip is None:
                return
            if clip == self._current:
                self._current, self._opened = None, False
                if self._landed == clip:  # it ended (or was broken) while paused: nothing to toggle back
                    self._landed = None
            if self.listener is not None:
                self.listener.playback_stopped(clip, finished=event.get("Playback-Status") != "break")
            await self._next()

    async def _on_file(self, body: str) -> None:
        try:
            data = json.loads(body)
            clip, path = str(data["clip"]), str(data["file"])
        except (ValueError, KeyError, TypeError):
            logger.warning("call %s: a mod_audio_stream::play event without our clip id or a file", self.uuid)
            return
        staged = self._staged.get(clip)
        if staged is not None:  # not to play: its file is an announcement's (stage())
            if not staged.done() and FILE_PATH.match(path):
                staged.set_result(path)
            return
        if clip in self._dropped or clip not in self._queue or self.ended or "\n" in path:
            return  # stopped (barge-in) before its file existed
        self._ready[clip] = path
        await self._next()

    async def _next(self) -> None:
        """Give FreeSWITCH the next clip, when none is there, nothing holds the playback and its file exists."""
        async with self._commands:
            if self._current is not None or self._held or self.ended or not self._queue:
                return
            path = self._ready.pop(self._queue[0], None)
            if path is None:
                return  # its ::play event has not come yet
            clip = self._queue.popleft()
            self._files[path] = clip
            self._current, self._opened = clip, False
            try:
                await self.esl.execute("playback", path, event_lock=True)
            except (EslError, TimeoutError) as exc:
                logger.info("call %s: playback of %s not queued: %s", self.uuid, clip, exc)

    async def _pause_current(self) -> None:
        """Pause the clip in FreeSWITCH, if one is there (under ``_commands``)."""
        clip = self._current
        if clip is None or self.ended or self._landed is not None:
            return
        answer = await self._api(f"uuid_fileman {self.uuid} pause")
        if answer.startswith("+OK") and self._current == clip:
            self._landed = clip
        elif answer.startswith("+OK"):  # it stopped while the pause went out: nothing plays that it could hold
            logger.info("call %s: the pause reached no clip", self.uuid)

    # Helpers ----------------------------------------------------------------------------------------------

    def dialplans(self) -> str:
        """The turn-based flow's transfer dialplans: XML, then the no-route script when XML has no extension."""
        return f"XML,inline:lua:{self._script(NO_ROUTE_SCRIPT)}"

    def _script(self, name: str) -> str:
        """One of our entry scripts, by its path when the entry script told us its folder."""
        return f"{self.channel.scripts_dir}/{name}" if self.channel.scripts_dir else name

    async def stage(self, clip: Clip) -> str | None:
        """Have mod_audio_stream write ``clip`` as a file on the FreeSWITCH host, without playing it; its path, or
        None when the module did not say within ``STAGE_S`` (or the call is no longer ours)."""
        if self.ended:
            return None
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._staged[clip.id] = future
        try:
            await self._send_audio(clip)
            return await asyncio.wait_for(future, STAGE_S)
        except Exception as exc:  # a late module or a broken WebSocket: the transfer rings unannounced
            logger.warning("call %s: the announcement's file was not written (%s): ringing unannounced", self.uuid, exc)
            return None
        finally:
            self._staged.pop(clip.id, None)

    async def _api(self, command: str) -> str:
        try:
            return await self.esl.api(command)
        except (EslError, TimeoutError) as exc:
            logger.info("call %s: %s: %s", self.uuid, command.split(" ", 1)[0], exc)
            return f"-ERR {exc}"

    async def _set_vars(self, values: dict[str, str | None]) -> None:
        for name, value in values.items():
            # uuid_setvar with no value unsets the variable (a value left by an earlier pass must not survive)
            await self._api(f"uuid_setvar {self.uuid} {name}" + (f" {value}" if value else ""))


def confirm_seconds(announcement: Clip) -> int:
    """How long an answered announced transfer may take: the line twice, each followed by the wait for the key,
    and a margin (the leg's time limit once it answers: originate's ``group_confirm_timeout``)."""
    return int(2 * (announcement.audio.duration_s + ANSWER_WAIT_S)) + 5


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]
