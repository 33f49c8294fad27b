"""The telephony API: what the FreeSWITCH Lua script calls during a call (see docs/telephony-api.md)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from voice_ai.api.deps import RuntimeDep, SessionDep
from voice_ai.conversation.engine import CallEngine
from voice_ai.conversation.lifecycle import CallLifecycle
from voice_ai.conversation.transfer_return import TransferReturn
from voice_ai.core.errors import FieldError, NotFoundError
from voice_ai.db.repositories.audio import AudioRepository
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.schemas.common import Destination, DialplanContext
from voice_ai.services.turn_audio import MAX_TURN_AUDIO_BYTES, MAX_TURN_SECONDS, decode_turn, read_recording
from voice_ai.streaming.contracts import RING_DEFAULT_S  # one default ring time for both call flows

router = APIRouter(prefix="/api/v1", tags=["calls"])
CallId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class StartCall(BaseModel):
    domain_uuid: uuid.UUID
    secretary: str = Field(min_length=1, max_length=64, description="Secretary uuid or extension")
    call_uuid: CallId
    caller_id_number: str | None = Field(default=None, max_length=64)
    caller_id_name: str | None = Field(default=None, max_length=200)
    destination_number: str | None = Field(default=None, max_length=64)


class CallEvent(BaseModel):
    domain_uuid: uuid.UUID
    event: Literal["dtmf", "caller_hangup", "transfer_result", "transfer_failed", "playback_error", "note"]
    digits: str | None = Field(default=None, pattern=r"^[0-9*#A-D]{1,32}$")
    detail: str | None = Field(
        default=None, max_length=500, description="e.g. the transfer result, its cause (NO_ROUTE_DESTINATION), an error"
    )
    destination: Destination | None = Field(default=None, description="transfer_failed: where it was sent")
    context: DialplanContext | None = Field(default=None, description="transfer_failed: in which dialplan context")


class EndCall(BaseModel):
    domain_uuid: uuid.UUID
    outcome: Literal["resolved", "transferred", "hangup", "abandoned", "error"]
    destination: Destination | None = Field(
        default=None, description="transferred: where the caller really went (the operator by key 0 included)"
    )
    context: DialplanContext | None = Field(default=None, description="transferred: the destination's context")


async def _tenant(session: Any, domain_uuid: uuid.UUID) -> uuid.UUID:
    if not await DomainRepository(session).exists(domain_uuid):
        raise NotFoundError("Domain")
    return domain_uuid


def _audio_url(request: Request, spoken_uuid: uuid.UUID | None) -> str | None:
    return str(request.url_for("get_audio", audio_id=f"{spoken_uuid}.wav")) if spoken_uuid else None


@router.post(
    "/calls",
    status_code=status.HTTP_201_CREATED,
    summary="A call starts: conversation and greeting (safe to retry, also concurrently: same conversation)",
)
async def start_call(body: StartCall, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    started = await CallEngine(runtime).start(
        body.domain_uuid,
        body.secretary,
        body.call_uuid,
        caller_id_number=body.caller_id_number,
        caller_id_name=body.caller_id_name,
        destination_number=body.destination_number,
    )
    s = started.secretary
    return {
        "conversation_uuid": str(started.conversation_uuid),
        "secretary_uuid": str(s.voice_secretary_uuid),
        "greeting_text": started.greeting.text,
        "greeting_audio_url": _audio_url(request, started.greeting.audio_uuid),
        "language": s.language,
        "max_turns": s.max_turns,
        "silence_threshold": s.silence_threshold,
        "silence_seconds": s.silence_seconds,
        "max_record_seconds": min(s.max_record_seconds, MAX_TURN_SECONDS),
        "operator_destination": started.operator_destination,
        "operator_context": started.operator_context,
    }


@router.post(
    "/calls/{call_uuid}/turns",
    summary="One caller turn: audio (WAV/L16, at most 120 s) or text → reply and action, within the turn deadline",
)
async def turn(
    call_uuid: str,
    request: Request,
    runtime: RuntimeDep,
    domain_uuid: Annotated[uuid.UUID, Form()],
    audio: Annotated[UploadFile | None, File(description="WAV, or raw 16-bit PCM with sample_rate")] = None,
    text: Annotated[str | None, Form(max_length=2000, description="Instead of audio (simulator, DTMF menus)")] = None,
    sample_rate: Annotated[int | None, Form(ge=8000, le=48000, description="For raw L16 audio")] = None,
    audio_path: Annotated[
        str | None, Form(max_length=1024, description="A recording inside VOICE_AI_RECORDINGS_DIR (same host)")
    ] = None,
) -> dict[str, Any]:
    decoded = None
    # reading (up to 11 MiB) and decoding run in a thread: the event loop serves the other calls meanwhile
    if audio_path is not None:
        data = await asyncio.to_thread(read_recording, runtime.settings.recordings_dir, audio_path)
        decoded = await asyncio.to_thread(decode_turn, data, sample_rate, "audio_path")
    elif audio is not None:
        decoded = await asyncio.to_thread(decode_turn, await audio.read(MAX_TURN_AUDIO_BYTES + 1), sample_rate)
    elif text is None and "text" not in await request.form():  # text="" (present, empty) is a silent turn
        raise FieldError("audio", "send the caller's audio (upload or audio_path) or text")
    result = await CallEngine(runtime).turn(domain_uuid, call_uuid, audio=decoded, text=text)
    transfer = result.action.transfer
    return {
        "turn": result.turn_index,
        "transcript": result.transcript,
        "response_text": result.response_text,
        "action": result.action.kind,
        "transfer": (
            {
                "destination": transfer.destination,
                "context": transfer.context,
                "department": transfer.department,
                "ring_seconds": transfer.ring_seconds or RING_DEFAULT_S,
                "announce": transfer.announce,
            }
            if transfer
            else None
        ),
        "audio_url": _audio_url(request, result.audio_uuid),
        "timings": result.timings,
        "providers": result.providers,
    }


@router.post(
    "/calls/{call_uuid}/events", status_code=status.HTTP_202_ACCEPTED, summary="Something happened on the line"
)
async def call_event(call_uuid: str, body: CallEvent, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    await _tenant(session, body.domain_uuid)
    index = await CallLifecycle(runtime).event(
        session,
        body.domain_uuid,
        call_uuid,
        body.event,
        digits=body.digits,
        detail=body.detail,
        destination=body.destination,
        context=body.context,
    )
    return {"stored": True, "turn": index}


class TransferFailed(BaseModel):
    domain_uuid: uuid.UUID
    destination: Destination = Field(description="Where the call flow tried to put the caller through")
    context: DialplanContext | None = Field(default=None, description="In which dialplan context")
    cause: str | None = Field(
        default=None,
        pattern=r"^[A-Z_]{1,64}$",
        description="FreeSWITCH's hangup cause of the attempt (NO_ANSWER, USER_BUSY, CALL_REJECTED, "
        "NO_ROUTE_DESTINATION, UNALLOCATED_NUMBER…), or DECLINED: the person did not accept an announced transfer",
    )


class Announcement(BaseModel):
    domain_uuid: uuid.UUID


@router.post(
    "/calls/{call_uuid}/transfer-failed",
    summary="A transfer reached nobody: the caller is back with the secretary; returns what to say (ends with the "
    "offer of a message)",
)
async def transfer_failed(
    call_uuid: str, body: TransferFailed, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    said = await TransferReturn(runtime).transfer_failed(
        body.domain_uuid, call_uuid, destination=body.destination, context=body.context, cause=body.cause
    )
    return {"response_text": said.text, "audio_url": _audio_url(request, said.audio_uuid), "action": "continue"}


@router.post(
    "/calls/{call_uuid}/announcement",
    summary="An announced transfer: what the person who answers hears first (who is calling and why, press 1)",
)
async def announcement(call_uuid: str, body: Announcement, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    said = await TransferReturn(runtime).announcement(body.domain_uuid, call_uuid)
    return {"text": said.text, "audio_url": _audio_url(request, said.audio_uuid)}


@router.post("/calls/{call_uuid}/end", summary="The call ended: outcome stored, summary written")
async def end_call(call_uuid: str, body: EndCall, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    await _tenant(session, body.domain_uuid)
    conversation = await CallLifecycle(runtime).end(
        session, body.domain_uuid, call_uuid, body.outcome, destination=body.destination, context=body.context
    )
    return {
        "conversation_uuid": str(conversation.voice_conversation_uuid),
        "outcome": conversation.outcome,
        "summary": conversation.summary,
        "transfer": (
            {
                "destination": conversation.transfer_destination,
                "context": conversation.transfer_context,
                "department": conversation.transfer_department,
            }
            if conversation.outcome == "transferred" and conversation.transfer_destination
            else None
        ),
    }


@router.get("/audio/{audio_id}", name="get_audio", summary="A synthesized reply as 8 kHz WAV", response_class=Response)
async def get_audio(audio_id: str, session: SessionDep) -> Response:
    try:
        audio_uuid = uuid.UUID(audio_id.removesuffix(".wav"))
    except ValueError:
        raise NotFoundError("Audio") from None
    wav = await AudioRepository(session).wav(audio_uuid)
    if wav is None:
        raise NotFoundError("Audio")
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600"})
