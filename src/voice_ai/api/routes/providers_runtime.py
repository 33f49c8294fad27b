"""Provider catalogue and the provider endpoints that do real work: try a configured provider, transcribe,
synthesise, chat. Tenant routes resolve the tenant's fallback chain exactly as a call would."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from voice_ai.api.deps import RuntimeDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import FieldError, NotFoundError, ServiceError, ServiceUnavailableError, TooManyRequestsError
from voice_ai.db.repositories.entities import ProviderRepository, SecretaryRepository, TransferRuleRepository
from voice_ai.providers import registry
from voice_ai.providers.audio import Audio, AudioFormatError, AudioTooLongError
from voice_ai.providers.errors import ProviderBadRequestError, ProviderError, ProviderRateLimitedError
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.manager import AllProvidersFailedError, ProviderManager
from voice_ai.providers.probe import probe
from voice_ai.providers.types import ChatMessage, DialogContext, Passage, TransferTarget
from voice_ai.schemas.common import Name, Utterance
from voice_ai.services.turn_audio import MAX_TURN_SECONDS, TOLERANCE_S, too_large
from voice_ai.services.vocabulary import tenant_language, tenant_lexicon
from voice_ai.tools.load import tool_log, turn_toolbox
from voice_ai.understanding.lexicon import Lexicon

catalogue = APIRouter(prefix="/api/v1", tags=["providers"])
router = APIRouter(prefix="/api/v1/domains/{domain_uuid}", tags=["providers"], responses=errors(404))
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class ProviderFailure(ServiceError):
    """Every provider of the chain failed: 502, with who failed and why (no secrets)."""

    status_code = 502


def _manager(runtime: Any) -> ProviderManager:
    manager: ProviderManager | None = runtime.providers
    if manager is None:
        raise ServiceUnavailableError("providers are not ready")
    return manager


@catalogue.get("/provider-types", summary="Every registered provider, its capabilities and settings schema")
async def provider_types(
    provider_type: Annotated[Literal["stt", "tts", "llm", "embeddings"] | None, Query()] = None,
) -> dict[str, Any]:
    items = [d for d in registry.describe_all() if provider_type in (None, d["provider_type"])]
    return {"items": items, "total": len(items)}


@router.post(
    "/providers/{provider_uuid}/test",
    summary="Make a tiny real request with a configured provider",
    responses=errors(429),
)
async def test_provider(
    domain_uuid: TenantDep, provider_uuid: uuid.UUID, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await ProviderRepository(session).get(domain_uuid, provider_uuid)
    if row is None:
        raise NotFoundError("Provider")
    manager = _manager(runtime)
    allowed, wait = True, 0.0
    if row.rate_limit_rpm and manager.limiter is not None:
        allowed, wait = await manager.limiter.allow(domain_uuid, provider_uuid, row.rate_limit_rpm)
    if not allowed:
        raise TooManyRequestsError(
            f"over this tenant's limit of {row.rate_limit_rpm} requests per minute for this provider; "
            f"try again in {wait:.0f} s",
            headers={"Retry-After": f"{max(1, round(wait))}"},
        )
    try:
        provider = manager.build(row)
    except ProviderError as exc:
        return {"ok": False, "error": exc.kind, "message": str(exc)}
    try:
        return await probe(provider)
    finally:
        await provider.aclose()


async def _chain(runtime: Any, domain_uuid: uuid.UUID, kind: Any, provider_uuid: uuid.UUID | None) -> Any:
    """The tenant's chain, as a call would use it; or, when an admin names a provider, that one alone."""
    chain = await _manager(runtime).chain(domain_uuid, kind, preferred=provider_uuid)
    if provider_uuid is None:
        return chain
    only = chain.only(provider_uuid)
    if not only.members:
        raise NotFoundError(f"Enabled {kind} provider")
    return only


def _input_error(exc: ProviderError) -> FieldError | None:
    """A chain that failed only because of the request's own input (e.g. a voice no provider has): a 422 on
    that field, not a provider failure."""
    failed = exc.errors if isinstance(exc, AllProvidersFailedError) else [exc]
    if failed and all(e.field for e in failed):
        return FieldError(str(failed[0].field), failed[0].message, "invalid_value")
    return None


async def _run(call: Any) -> Any:
    try:
        return await call
    except ProviderError as exc:
        input_error = _input_error(exc)
        if input_error is not None:
            raise input_error from None
        if isinstance(exc, ProviderRateLimitedError):
            wait = f"{max(1, round(exc.retry_after or 60))}"
            raise TooManyRequestsError(str(exc), headers={"Retry-After": wait}) from None
        if isinstance(exc, ProviderBadRequestError):
            raise ServiceError(str(exc)) from None
        raise ProviderFailure(str(exc)) from None


def _headers(info: Any) -> dict[str, str]:
    return {
        "X-Provider": info.provider,
        "X-Latency-Ms": f"{info.latency_ms:.1f}",
        "X-Fallbacks": "; ".join(info.fallbacks),
    }


_PROVIDER_ERRORS = errors(400, 429, 502)


@router.post(
    "/transcribe",
    summary="Speech to text with the tenant's STT chain (a WAV upload, at most a call turn: 120 s)",
    responses={**_PROVIDER_ERRORS, **errors(413)},
)
async def transcribe(
    domain_uuid: TenantDep,
    runtime: RuntimeDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="16-bit PCM WAV, mono or stereo")],
    language: Annotated[
        str | None, Form(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", description="Default: the secretary's")
    ] = None,
    hints: Annotated[
        str | None, Form(max_length=2000, description="Comma-separated vocabulary; default: the tenant's")
    ] = None,
    provider_uuid: Annotated[uuid.UUID | None, Form()] = None,
) -> dict[str, Any]:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise FieldError("file", f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    try:  # as long as a caller's turn can be, refused from the header before anything is decoded; off the loop
        audio = await asyncio.to_thread(Audio.from_wav, data, max_seconds=MAX_TURN_SECONDS + TOLERANCE_S)
    except AudioTooLongError as exc:
        raise too_large(f"the recording is {exc.seconds:.0f} s long") from None
    except AudioFormatError as exc:
        raise FieldError("file", str(exc), "invalid_audio") from None
    chain = await _chain(runtime, domain_uuid, "stt", provider_uuid)
    if hints is None:  # not sent: the tenant's own lexicon, as a call's turn is heard (prompt and rescoring)
        lexicon = await tenant_lexicon(session, domain_uuid)
    else:  # the admin's words alone, as names: what a recogniser would make of them
        words = [h.strip() for h in hints.split(",") if h.strip()]
        lexicon = await asyncio.to_thread(Lexicon.build, names=words)
    terms = list(lexicon.terms)
    language = language or await tenant_language(session, domain_uuid)
    result = await _run(chain.run(lambda p: p.transcribe(audio, language=language, hints=terms, lexicon=lexicon)))
    return {
        "text": result.text,
        "alternatives": [a for a in result.alternatives if a.strip() and a.strip() != result.text.strip()],
        "language": result.language,
        "confidence": result.confidence,
        "duration_s": round(result.duration_s, 3),
        "provider": result.info.provider,
        "latency_ms": result.info.latency_ms,
        "fallbacks": result.info.fallbacks,
    }


class SynthesizeBody(BaseModel):
    text: Utterance
    voice: Name | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    sample_rate: Literal[8000, 16000, 22050, 24000] = 8000
    provider_uuid: uuid.UUID | None = None


@router.post(
    "/synthesize",
    summary="Text to speech with the tenant's TTS chain; answers audio/wav",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}, **_PROVIDER_ERRORS},
)
async def synthesize(domain_uuid: TenantDep, runtime: RuntimeDep, body: SynthesizeBody) -> Response:
    chain = await _chain(runtime, domain_uuid, "tts", body.provider_uuid)
    speech = await _run(
        chain.run(
            lambda p: p.synthesize(body.text, voice=body.voice, language=body.language, sample_rate=body.sample_rate)
        )
    )
    return Response(speech.audio.wav(), media_type="audio/wav", headers=_headers(speech.info))


ChatText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
PassageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ChatMessageBody(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: ChatText


class ChatBody(BaseModel):
    messages: list[ChatMessageBody] = Field(min_length=1, max_length=50)
    secretary_uuid: uuid.UUID | None = Field(
        default=None, description="Answer as this secretary: its providers, language, company and rules"
    )
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    passages: list[PassageText] = Field(
        default_factory=list, max_length=20, description="Context passages to answer from"
    )
    structured: bool = Field(default=True, description="Ask for the call-turn decision (response/action/department)")
    provider_uuid: uuid.UUID | None = None


@router.post(
    "/chat",
    summary="A reply from the tenant's LLM chain (with its transfer rules as context)",
    responses=_PROVIDER_ERRORS,
)
async def chat(domain_uuid: TenantDep, runtime: RuntimeDep, session: SessionDep, body: ChatBody) -> dict[str, Any]:
    secretary = None
    if body.secretary_uuid is not None:
        secretary = await SecretaryRepository(session).get(domain_uuid, body.secretary_uuid)
        if secretary is None:
            raise NotFoundError("Secretary")
    rules = await TransferRuleRepository(session).list(domain_uuid, limit=500, offset=0, enabled=True)
    scope = secretary.voice_secretary_uuid if secretary else None
    context = DialogContext(
        language=body.language or (secretary.language if secretary else await tenant_language(session, domain_uuid)),
        company_name=secretary.company_name if secretary else None,
        passages=[Passage(p) for p in body.passages],
        transfer_targets=[
            TransferTarget(
                r.department_name, r.destination_number, r.description or "", tuple(r.keywords), r.destination_context
            )
            for r in rules.items
            if r.voice_secretary_uuid in (None, scope)
        ],
    )
    if body.provider_uuid is not None:
        chain = await _chain(runtime, domain_uuid, "llm", body.provider_uuid)
    else:  # as a call to this secretary would: its reference first, fallbacks on
        preferred = secretary.llm_provider_uuid if secretary else None
        chain = await _manager(runtime).chain(domain_uuid, "llm", preferred=preferred)
    messages = [ChatMessage(m.role, m.content) for m in body.messages]
    if secretary is not None and secretary.personality_prompt:
        messages = [ChatMessage("system", secretary.personality_prompt), *messages]
    schema = DECISION_SCHEMA if body.structured else None
    # as a call to this secretary would: its tools for a model with function calling (docs/tools.md)
    tools = await turn_toolbox(session, runtime, domain_uuid, secretary.voice_secretary_uuid) if secretary else None
    result = await _run(chain.run(lambda p: p.chat(messages, context=context, response_schema=schema, tools=tools)))
    return {
        "text": result.text,
        "data": result.data,
        "provider": result.info.provider,
        "latency_ms": result.info.latency_ms,
        "usage": result.info.usage,
        "fallbacks": result.info.fallbacks,
        "tool_calls": tool_log(tools) or [],
    }
