"""Provider interfaces. The public methods (``transcribe``, ``synthesize``, ``chat``, ``embed``) own the
timeout, the retries (retryable errors only), the call record (latency, attempts, usage) and the typed
errors; a vendor implements only the private ``_…_impl`` method and declares its settings and capabilities.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from voice_ai.core.logging import register_secret
from voice_ai.providers import deadline, metrics
from voice_ai.providers.audio import Audio
from voice_ai.providers.errors import ProviderConfigError, ProviderError, ProviderRateLimitedError, ProviderTimeoutError
from voice_ai.providers.llm.sentences import split_sentences
from voice_ai.providers.types import (
    CallInfo,
    Capabilities,
    ChatMessage,
    ChatResult,
    DialogContext,
    EmbeddingKind,
    Embeddings,
    Kind,
    Speech,
    Transcript,
)

if TYPE_CHECKING:
    from voice_ai.tools.toolbox import Toolbox
    from voice_ai.understanding.lexicon import Lexicon

logger = logging.getLogger(__name__)
R = TypeVar("R")
MAX_BACKOFF_S = 2.0
MIN_ATTEMPT_S = 0.05  # below this, an attempt inside a call turn's deadline is not even started
MIN_RETRY_S = 0.5  # a retry inside a call turn needs at least this much time left after its back-off


class ProviderSettings(BaseModel):
    """Settings every provider has. Vendors subclass it; fields typed ``SecretStr`` are secrets (stored
    encrypted, shown masked, write-only in the admin UI)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=20.0, gt=0, le=600, description="Per attempt.")
    max_retries: int = Field(default=1, ge=0, le=5, description="Extra attempts on retryable errors.")


def timeout_field(default: float) -> Any:
    """``timeout_s`` for a vendor's settings with its own default (keeps the bounds)."""
    return Field(default=default, gt=0, le=600, description="Per attempt, in seconds.")


def secret_field_names(settings: type[BaseModel]) -> list[str]:
    return [name for name, f in settings.model_fields.items() if "SecretStr" in repr(f.annotation)]


class Provider(ABC):
    kind: ClassVar[Kind]
    name: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    Settings: ClassVar[type[ProviderSettings]] = ProviderSettings
    capabilities: ClassVar[Capabilities] = Capabilities()
    extra: ClassVar[str | None] = None  # pip extra that brings the vendor SDK, if one is needed

    def __init__(self, settings: ProviderSettings, *, label: str | None = None) -> None:
        self.settings = settings
        self.label = label or self.name
        for field in secret_field_names(type(settings)):  # scrubbed from any error text or log line
            value = getattr(settings, field, None)
            if isinstance(value, SecretStr) and value.get_secret_value():
                register_secret(value.get_secret_value())

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, label: str | None = None) -> Provider:
        """Build from a plaintext config dict; a config that does not fit is a ProviderConfigError."""
        try:
            settings = cls.Settings.model_validate(dict(config))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ProviderConfigError(f"invalid settings: {problems}", provider=label or cls.name) from None
        return cls(settings, label=label)

    @staticmethod
    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    async def aclose(self) -> None:
        """Release clients/sockets. Models shared process-wide stay loaded."""

    async def _call(self, op: str, attempt: Callable[[], Awaitable[R]], info: CallInfo) -> R:
        info.provider = self.label
        started = time.perf_counter()
        tries = self.settings.max_retries + 1
        outcome = "error"
        try:
            for number in range(1, tries + 1):
                info.attempts = number
                limit, live = self.settings.timeout_s, deadline.remaining()
                if live is not None:  # a live call turn: its deadline bounds every attempt
                    if live < MIN_ATTEMPT_S:
                        outcome = "timeout"
                        raise ProviderTimeoutError(
                            f"{op}: no time left in this call turn", provider=self.label, retryable=False
                        )
                    limit = min(limit, live)
                try:
                    async with asyncio.timeout(limit):
                        result = await attempt()
                    outcome = "ok"
                    return result
                except TimeoutError:
                    # A local model keeps computing in its thread after a timeout: trying it again only
                    # queues more work, so local timeouts are not retried (the chain moves on).
                    error: ProviderError = ProviderTimeoutError(
                        f"{op} timed out after {limit:.3g} s",
                        provider=self.label,
                        retryable=not self.capabilities.offline,
                    )
                except ProviderError as exc:
                    exc.provider = exc.provider or self.label
                    error = exc
                except Exception as exc:  # a vendor's odd answer or a local library's failure
                    logger.exception("%s: unexpected error in %s", self.label, op)
                    error = ProviderError(f"unexpected error in {op}: {type(exc).__name__}", provider=self.label)
                outcome = error.kind
                if not error.retryable or number == tries:
                    raise error
                delay = min(MAX_BACKOFF_S, 0.2 * 2 ** (number - 1)) * (0.5 + random.random() / 2)  # noqa: S311
                if isinstance(error, ProviderRateLimitedError) and error.retry_after is not None:
                    if error.retry_after > MAX_BACKOFF_S:
                        raise error  # waiting that long would stall a call: let the chain move on
                    delay = error.retry_after
                live = deadline.remaining()
                if live is not None and live - delay < MIN_RETRY_S:
                    raise error  # no room for another attempt in this call turn: let the chain move on
                logger.info("%s: %s failed (%s), retrying in %.2f s", self.label, op, error.kind, delay)
                await asyncio.sleep(delay)
            raise AssertionError("unreachable")
        finally:
            elapsed = time.perf_counter() - started
            info.latency_ms = round(elapsed * 1000, 2)
            metrics.record(self.kind, self.name, op, outcome, elapsed, info.attempts)


class STTProvider(Provider):
    kind = "stt"

    async def transcribe(
        self,
        audio: Audio,
        *,
        language: str | None = None,
        hints: Sequence[str] = (),
        lexicon: Lexicon | None = None,
    ) -> Transcript:
        """Speech to text. ``hints``: vocabulary (company, departments, keywords, distinctive document words; most
        useful first) that biases recognition. ``lexicon``: the tenant's whole lexicon, for a recogniser that
        picks among its hypotheses the one that fits the tenant's words (Whisper); others ignore it."""
        info = CallInfo(usage={"audio_s": round(audio.duration_s, 3)})
        result = await self._call(
            "transcribe", lambda: self._transcribe_with(audio, language, list(hints), lexicon), info
        )
        result.info, result.duration_s = info, result.duration_s or audio.duration_s
        metrics.record_usage(self.kind, self.name, info.usage)
        return result

    async def _transcribe_with(
        self, audio: Audio, language: str | None, hints: list[str], lexicon: Lexicon | None
    ) -> Transcript:
        """A recogniser that uses the tenant's lexicon overrides this; the default ignores it."""
        return await self._transcribe_impl(audio, language, hints)

    @abstractmethod
    async def _transcribe_impl(self, audio: Audio, language: str | None, hints: list[str]) -> Transcript: ...


class TTSProvider(Provider):
    kind = "tts"

    async def synthesize(
        self, text: str, *, voice: str | None = None, language: str | None = None, sample_rate: int = 8000
    ) -> Speech:
        """Text to mono 16-bit audio at ``sample_rate`` (8000 for narrowband telephony)."""
        if not text.strip():
            raise ProviderError("nothing to say: empty text", provider=self.label)
        info = CallInfo(usage={"characters": len(text)})
        audio = await self._call("synthesize", lambda: self._synthesize_impl(text, voice, language, sample_rate), info)
        audio = audio.resampled(sample_rate)
        info.usage["audio_s"] = round(audio.duration_s, 3)
        metrics.record_usage(self.kind, self.name, info.usage)
        return Speech(audio, info)

    async def synthesize_stream(
        self, text: str, *, voice: str | None = None, language: str | None = None, sample_rate: int = 8000
    ) -> AsyncIterator[Speech]:
        """Sentence by sentence, so the first audio is ready before the whole answer is synthesised.
        Vendors with native streaming override this."""
        for sentence in split_sentences(text) or [text]:
            yield await self.synthesize(sentence, voice=voice, language=language, sample_rate=sample_rate)

    @abstractmethod
    async def _synthesize_impl(self, text: str, voice: str | None, language: str | None, sample_rate: int) -> Audio:
        """Return audio at any rate; the base class resamples to the requested one."""


class LLMProvider(Provider):
    kind = "llm"
    function_calling: ClassVar[bool] = False  # implements _chat_tools_impl (the tenant's tools, voice_ai.tools)

    def uses_tools(self, tools: Toolbox | None, response_schema: dict[str, Any] | None) -> bool:
        """Tools are offered to vendors with function calling, for a structured decision; others ignore them."""
        return bool(tools) and self.function_calling and response_schema is not None

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        context: DialogContext | None = None,
        response_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: Toolbox | None = None,
    ) -> ChatResult:
        """A reply to the conversation. With ``response_schema`` (a JSON schema) the reply is also parsed
        into ``ChatResult.data``; a reply that does not parse is a retryable error. ``tools``: the tenant's tools,
        which a vendor with function calling may call (in its own protocol, in a loop, until the decision) within
        the toolbox's bounds; the attempt's timeout covers the whole loop."""
        info = CallInfo()
        if tools is not None and self.uses_tools(tools, response_schema):
            toolbox, schema = tools, response_schema or {}
            result = await self._call(
                "chat",
                lambda: self._chat_tools_impl(list(messages), context, schema, toolbox, temperature, max_tokens),
                info,
            )
        else:
            result = await self._call(
                "chat",
                lambda: self._chat_impl(list(messages), context, response_schema, temperature, max_tokens),
                info,
            )
        info.usage = {**result.info.usage, **info.usage}
        result.info = info
        metrics.record_usage(self.kind, self.name, info.usage)
        return result

    async def chat_stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        context: DialogContext | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        """Text deltas as they come. Vendors with native streaming override this."""
        result = await self.chat(messages, context=context, temperature=temperature, max_tokens=max_tokens)
        yield result.text

    async def decide_stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        context: DialogContext | None = None,
        schema: dict[str, Any],
        max_tokens: int | None = None,
        tools: Toolbox | None = None,
    ) -> AsyncIterator[str]:
        """The structured decision as raw JSON text, delta by delta, as the model writes it (a streaming call
        speaks the reply while it is being written). With ``tools`` (a vendor with function calling): the tool
        rounds, then the decision in one piece (its keys in the schema's order).

        Same rules as :meth:`chat`: until the first delta, each attempt is bounded by ``timeout_s`` and the live
        call's deadline, retryable errors are retried, and every failure is a typed :class:`ProviderError` (so a
        fallback chain moves on to the next provider). After the first delta nothing is retried (the text is
        already out): each later delta must come within ``timeout_s`` and the deadline, else a
        :class:`ProviderTimeoutError`; a vendor's failure mid-way is a typed error too. The metrics record the
        time to the first delta (operation ``decide_stream``). Vendors with native streaming implement
        :meth:`_decide_stream_impl`; the default is one chunk from the non-streaming call."""
        info = CallInfo()

        async def first_delta() -> tuple[AsyncIterator[str], str]:
            if tools is not None and self.uses_tools(tools, schema):
                stream = self._tools_decision(list(messages), context, schema, tools, max_tokens)
            else:
                stream = self._decide_stream_impl(list(messages), context, schema, max_tokens)
            try:
                async for delta in stream:
                    if delta:
                        return stream, delta
            except BaseException:
                await _close(stream)
                raise
            raise ProviderError("the model returned nothing", provider=self.label, retryable=True)

        stream, delta = await self._call("decide_stream", first_delta, info)
        try:
            yield delta
            while True:
                limit, live = self.settings.timeout_s, deadline.remaining()
                if live is not None:
                    limit = min(limit, max(live, 0.0))
                try:
                    async with asyncio.timeout(limit):
                        delta = await anext(stream)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise ProviderTimeoutError(
                        f"decide_stream: the stream stalled for {limit:.3g} s", provider=self.label
                    ) from None
                except ProviderError as exc:
                    exc.provider = exc.provider or self.label
                    raise
                except Exception as exc:
                    logger.exception("%s: unexpected error in a decision stream", self.label)
                    raise ProviderError(
                        f"unexpected error in decide_stream: {type(exc).__name__}", provider=self.label
                    ) from None
                if delta:
                    yield delta
        finally:
            await _close(stream)

    async def _decide_stream_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """Without native streaming: the whole decision at once, its keys in the schema's order."""
        result = await self._chat_impl(messages, context, schema, None, max_tokens)
        yield _ordered_json(result, schema)

    async def _tools_decision(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        tools: Toolbox,
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """A streamed decision with tools: the tool rounds are not streamed; the decision comes whole."""
        result = await self._chat_tools_impl(messages, context, schema, tools, None, max_tokens)
        yield _ordered_json(result, schema)

    async def _chat_tools_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any],
        tools: Toolbox,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        """The decision after the tool rounds (vendors with ``function_calling`` override it)."""
        return await self._chat_impl(messages, context, response_schema, temperature, max_tokens)

    @abstractmethod
    async def _chat_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult: ...


class EmbeddingsProvider(Provider):
    kind = "embeddings"
    batch_size: ClassVar[int] = 64

    def passage_encoder(self) -> tuple[Callable[[list[str]], list[list[float]]], str] | None:
        """For a local, CPU-bound model: a picklable function that embeds passages in the indexing worker
        process (off the calls' CPU), and the model name stored with the vectors. None: embed through
        :meth:`embed` in the service process (a vendor's API)."""
        return None

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind = "passage") -> Embeddings:
        """Vectors for ``texts`` (``query`` for questions, ``passage`` for document chunks), batched."""
        info = CallInfo(usage={"texts": len(texts), "characters": sum(len(t) for t in texts)})
        vectors: list[list[float]] = []
        model, dims, started, attempts = "", 0, time.perf_counter(), 0
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            result = await self._call("embed", lambda batch=batch: self._embed_impl(batch, kind), info)  # type: ignore[misc]
            vectors.extend(result.vectors)
            model, dims, attempts = result.model, result.dimensions, attempts + info.attempts
        info.latency_ms, info.attempts = round((time.perf_counter() - started) * 1000, 2), attempts
        metrics.record_usage(self.kind, self.name, info.usage)
        return Embeddings(vectors, model, dims, info)

    @abstractmethod
    async def _embed_impl(self, texts: list[str], kind: EmbeddingKind) -> Embeddings: ...


def _ordered_json(result: ChatResult, schema: dict[str, Any]) -> str:
    data = result.data if result.data is not None else {"response": result.text, "action": "continue"}
    order = list(schema.get("properties", {}))
    ordered = {k: data[k] for k in order if k in data} | {k: v for k, v in data.items() if k not in order}
    return json.dumps(ordered, ensure_ascii=False)


async def _close(stream: AsyncIterator[str]) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):  # a vendor stream failing while closing has nothing more to give
            await closer()
