"""The FreeSWITCH media transport of a streaming call (:class:`voice_ai.streaming.contracts.MediaTransport`).

Audio out: a clip goes to mod_audio_stream over the call's WebSocket as ``streamAudio`` JSON (a WAV, with the
clip's id as an extra ``clip`` field, which the module keeps); the module writes it to a file and fires
``mod_audio_stream::play`` with the data and the file's path; we then queue ``playback <file>`` on the call with
``event-lock`` (without it a queued playback starts *inside* the one playing — FreeSWITCH parses queued
applications while it plays — and the clips play on top of each other). PLAYBACK_START / PLAYBACK_STOP
(``Playback-Status``: ``done`` or ``break``) tell the call what the caller heard.

Barge-in: ``uuid_break <uuid> all`` stops the playing file and drops the queued ones; a clip whose ``::play`` event
arrives after that is not played. Transfer: the turn-based flow's channel variables and its transfer string
(``XML,inline:lua:<scripts>/voice_ai_no_route.lua`` — a transfer that does not route reaches the no-route script,
which tells the service and sends the caller to the operator), through ``uuid_transfer``; the audio stream stops
first. Failure: the channel's ``voice_ai_stream_error`` says why, and the event socket closes: FreeSWITCH resumes
the entry script (``socket_resume``), which plays the local apology and sends the caller to the fallback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any, Protocol

from voice_ai.streaming.contracts import Clip
from voice_ai.streaming.freeswitch.channel import (
    ChannelInfo,
    literal_pattern,
    safe_context,
    safe_destination,
)
from voice_ai.streaming.freeswitch.esl import EslConnection, EslError, EslEvent

logger = logging.getLogger(__name__)

NO_ROUTE_SCRIPT = "voice_ai_no_route.lua"


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
        self._sent: dict[str, Clip] = {}  # clips handed to the module, not yet finished or dropped
        self._files: dict[str, str] = {}  # file the module wrote → clip id
        self._dropped: set[str] = set()
        self.events: list[dict[str, Any]] = []  # emit()'s, kept for observers and tests

    @property
    def uuid(self) -> str:
        return self.channel.call_uuid

    # MediaTransport -------------------------------------------------------------------------------------

    async def play(self, clip: Clip) -> None:
        if self.ended:
            return
        self._sent[clip.id] = clip
        data = {"audioDataType": "wav", "sampleRate": clip.audio.sample_rate, "clip": clip.id}
        data["audioData"] = base64.b64encode(clip.audio.wav()).decode("ascii")
        await self.ws.send_text(json.dumps({"type": "streamAudio", "data": data}, separators=(",", ":")))

    async def stop_playback(self) -> None:
        self._dropped.update(self._sent)
        self._sent.clear()
        if not self.ended:
            await self._api(f"uuid_break {self.uuid} all")

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

    async def hangup(self) -> None:
        if self.ended:
            return
        self.ended = "hangup"
        self.finished.set()
        await self._set_vars({"socket_resume": "false"})
        await self._api(f"uuid_kill {self.uuid} NORMAL_CLEARING")

    async def fail(self, reason: str, *, force: bool = False) -> None:
        if self.ended and not force:
            return
        self.ended = "fail"
        self.finished.set()
        logger.warning("call %s: handing the caller to the entry script's fallback: %s", self.uuid, reason)
        await self._set_vars({"voice_ai_stream_error": _one_line(reason)})
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
        if event.subclass == "mod_audio_stream::play":
            await self._on_file(event.body)
        elif event.name == "PLAYBACK_START":
            clip = self._files.get(event.get("Playback-File-Path"))
            if clip is not None and self.listener is not None:
                self.listener.playback_started(clip)
        elif event.name == "PLAYBACK_STOP":
            clip = self._files.pop(event.get("Playback-File-Path"), None)
            if clip is not None:
                self._sent.pop(clip, None)
                if self.listener is not None:
                    self.listener.playback_stopped(clip, finished=event.get("Playback-Status") != "break")

    async def _on_file(self, body: str) -> None:
        try:
            data = json.loads(body)
            clip, path = str(data["clip"]), str(data["file"])
        except (ValueError, KeyError, TypeError):
            logger.warning("call %s: a mod_audio_stream::play event without our clip id or a file", self.uuid)
            return
        if clip in self._dropped or clip not in self._sent or self.ended or "\n" in path:
            return  # stopped (barge-in) before its file existed
        self._files[path] = clip
        await self.esl.execute("playback", path, event_lock=True)

    # Helpers ----------------------------------------------------------------------------------------------

    def dialplans(self) -> str:
        """The turn-based flow's transfer dialplans: XML, then the no-route script when XML has no extension."""
        if self.channel.scripts_dir:
            return f"XML,inline:lua:{self.channel.scripts_dir}/{NO_ROUTE_SCRIPT}"
        return f"XML,inline:lua:{NO_ROUTE_SCRIPT}"

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


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]
