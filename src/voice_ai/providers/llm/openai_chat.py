"""OpenAI Chat Completions and everything that speaks it: OpenAI, Azure OpenAI, Groq, and local servers
(Ollama, llama.cpp server, LM Studio, vLLM) through ``openai_compatible``. Uses the official ``openai``
SDK (the ``openai`` extra), with its retries off: the base class owns retries and fallbacks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, SecretStr

from voice_ai.providers.base import LLMProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import (
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    from_http_status,
)
from voice_ai.providers.llm.prompting import parse_json, system_prompt, with_system
from voice_ai.providers.openai_client import AzureClientMixin, OpenAIClientMixin, openai_sdk
from voice_ai.providers.types import Capabilities, ChatMessage, ChatResult, DialogContext
from voice_ai.tools.toolbox import instructions

if TYPE_CHECKING:
    from voice_ai.tools.toolbox import Toolbox


class OpenAICompatibleSettings(ProviderSettings):
    base_url: str = Field(default="http://127.0.0.1:11434/v1", description="The server's /v1 URL")
    model: str = Field(default="llama3.1", min_length=1)
    api_key: SecretStr | None = Field(default=None, description="Only if the server requires one")
    structured_output: Literal["json_schema", "json_object", "prompt"] = Field(
        default="json_schema", description="How to ask for the JSON decision (older servers: json_object)"
    )
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=300, ge=1, le=8192)
    timeout_s: float = timeout_field(30.0)


class OpenAISettings(OpenAICompatibleSettings):
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key: SecretStr
    organization: str | None = None


class GroqSettings(OpenAICompatibleSettings):
    base_url: str = "https://api.groq.com/openai/v1"
    model: str = "llama-3.1-8b-instant"
    api_key: SecretStr
    structured_output: Literal["json_schema", "json_object", "prompt"] = "json_object"


class AzureOpenAISettings(OpenAICompatibleSettings):
    endpoint: str = Field(description="https://<resource>.openai.azure.com")
    deployment: str = Field(description="The model deployment name")
    api_version: str = "2024-10-21"
    api_key: SecretStr
    base_url: str = ""
    model: str = ""


def map_openai_error(exc: Exception, provider: str) -> ProviderError:
    openai = openai_sdk()
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeoutError("the server did not answer in time", provider=provider)
    if isinstance(exc, openai.APIStatusError):
        retry_after = exc.response.headers.get("retry-after")
        return from_http_status(
            exc.status_code,
            _error_message(exc),
            provider=provider,
            retry_after=float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None,
        )
    if isinstance(exc, openai.APIConnectionError):
        return ProviderUnavailableError(f"cannot reach the server: {exc}", provider=provider)
    return ProviderError(f"unexpected error: {type(exc).__name__}: {str(exc)[:200]}", provider=provider)


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", "")) or type(exc).__name__


class OpenAICompatibleLLM(OpenAIClientMixin, LLMProvider):
    name = "openai_compatible"
    display_name = "OpenAI-compatible server (Ollama, llama.cpp, LM Studio, vLLM)"
    description = "Any server with the OpenAI Chat Completions API, e.g. a local Ollama."
    Settings: ClassVar[type[ProviderSettings]] = OpenAICompatibleSettings
    capabilities = Capabilities(streaming=True, structured_output=True)
    extra = "openai"
    function_calling = True
    settings: OpenAICompatibleSettings

    @property
    def model_name(self) -> str:
        return self.settings.model

    def _request(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        full = with_system(messages, system_prompt(context, schema))
        request: dict[str, Any] = {
            "model": self.model_name,
            "messages": [{"role": m.role, "content": m.content} for m in full],
            "temperature": self.settings.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self.settings.max_tokens,
        }
        if schema is not None and self.settings.structured_output == "json_schema":
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "decision", "schema": schema, "strict": True},
            }
        elif schema is not None and self.settings.structured_output == "json_object":
            request["response_format"] = {"type": "json_object"}
        return request

    async def _chat_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        request = self._request(messages, context, response_schema, temperature, max_tokens)
        try:
            completion = await self.client().chat.completions.create(**request)
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None
        return self._result(completion, response_schema)

    def _result(self, completion: Any, response_schema: dict[str, Any] | None) -> ChatResult:
        text = (completion.choices[0].message.content or "").strip() if completion.choices else ""
        result = ChatResult(text)
        if completion.usage is not None:
            result.info.usage = {
                "input_tokens": completion.usage.prompt_tokens,
                "output_tokens": completion.usage.completion_tokens,
            }
        if response_schema is not None:
            result.data = parse_json(text)
            if result.data is None:
                raise ProviderError("the model did not return the requested JSON", provider=self.label, retryable=True)
            result.text = str(result.data.get("response", text))
        return result

    def _tools_request(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any],
        tools: Toolbox,
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        language = context.language if context else "pt-BR"
        request = self._request(
            [ChatMessage("system", instructions(language)), *messages],
            context,
            response_schema,
            temperature,
            max_tokens,
        )
        request["tools"] = [{"type": "function", "function": d} for d in tools.declarations()]
        return request

    @staticmethod
    async def _answer_calls(conversation: list[dict[str, Any]], calls: list[dict[str, str]], tools: Toolbox) -> None:
        """The assistant's ``tool_calls`` and one ``tool`` message per call id, appended to the conversation."""
        conversation.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ],
            }
        )
        for call in calls:
            try:
                arguments: Any = json.loads(call["arguments"] or "{}")
            except ValueError:
                arguments = call["arguments"]
            outcome = await tools.call(call["name"], arguments)
            conversation.append({"role": "tool", "tool_call_id": call["id"], "content": outcome.content})

    async def _chat_tools_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any],
        tools: Toolbox,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        """Chat Completions function calling: ``tools`` (type ``function``), the assistant's ``tool_calls``
        answered by ``tool`` messages (one per call id), until the model writes the decision; the last round (or
        once the turn's calls are spent) has ``tool_choice: none``."""
        request = self._tools_request(messages, context, response_schema, tools, temperature, max_tokens)
        used: dict[str, float] = {"input_tokens": 0, "output_tokens": 0}
        rounds = tools.max_calls + 2
        for round_number in range(rounds):
            final = tools.exhausted or round_number == rounds - 1
            request["tool_choice"] = "none" if final else "auto"
            try:
                completion = await self.client().chat.completions.create(**request)
            except Exception as exc:
                raise map_openai_error(exc, self.label) from None
            if completion.usage is not None:
                used["input_tokens"] += completion.usage.prompt_tokens
                used["output_tokens"] += completion.usage.completion_tokens
            message = completion.choices[0].message if completion.choices else None
            calls = list(message.tool_calls or []) if message is not None else []
            if not calls or final:
                result = self._result(completion, response_schema)
                result.info.usage = used
                return result
            answered = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in calls]
            await self._answer_calls(request["messages"], answered, tools)
        raise ProviderError("the model did not decide after its tool calls", provider=self.label)

    async def _tools_decision(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        tools: Toolbox,
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """A streamed decision with tools: every round is streamed (``stream: true``); a round whose deltas carry
        ``tool_calls`` (pieces gathered by their index) is answered and followed by the next one, and the round that
        writes content streams the decision's JSON as it comes — a streaming call speaks its first sentence without
        waiting for the whole decision after the tools."""
        request = self._tools_request(messages, context, schema, tools, None, max_tokens)
        rounds = tools.max_calls + 2
        for round_number in range(rounds):
            final = tools.exhausted or round_number == rounds - 1
            request["tool_choice"] = "none" if final else "auto"
            try:
                stream = await self.client().chat.completions.create(**request, stream=True)
            except Exception as exc:
                raise map_openai_error(exc, self.label) from None
            calls: dict[int, dict[str, str]] = {}
            wrote = False
            try:
                async for chunk in stream:
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if delta.content:
                        wrote = True
                        yield delta.content
                    for piece in delta.tool_calls or []:
                        entry = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                        entry["id"] = piece.id or entry["id"]
                        if piece.function is not None:
                            entry["name"] += piece.function.name or ""
                            entry["arguments"] += piece.function.arguments or ""
            except ProviderError:
                raise
            except Exception as exc:
                raise map_openai_error(exc, self.label) from None
            finally:
                await stream.close()
            if wrote or not calls or final:
                return
            await self._answer_calls(request["messages"], [calls[i] for i in sorted(calls)], tools)
        raise ProviderError("the model did not decide after its tool calls", provider=self.label)

    async def chat_stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        context: DialogContext | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        request = self._request(list(messages), context, None, temperature, max_tokens)
        try:
            stream = await self.client().chat.completions.create(**request, stream=True)
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except ProviderError:
            raise
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None

    async def _decide_stream_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """The decision's JSON as the server streams it (``stream: true``, server-sent ``chat.completion.chunk``
        events): with ``json_schema`` the keys come in the schema's order."""
        request = self._request(messages, context, schema, None, max_tokens)
        try:
            stream = await self.client().chat.completions.create(**request, stream=True)
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None
        try:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except ProviderError:
            raise
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None
        finally:
            await stream.close()


class OpenAILLM(OpenAICompatibleLLM):
    name = "openai"
    display_name = "OpenAI"
    description = "OpenAI's hosted models (gpt-4o-mini by default)."
    Settings = OpenAISettings
    settings: OpenAISettings


class GroqLLM(OpenAICompatibleLLM):
    name = "groq"
    display_name = "Groq"
    description = "Groq's OpenAI-compatible endpoint (very low latency open models)."
    Settings = GroqSettings


class AzureOpenAILLM(AzureClientMixin, OpenAICompatibleLLM):
    name = "azure_openai"
    display_name = "Azure OpenAI"
    description = "OpenAI models deployed in an Azure OpenAI resource."
    Settings = AzureOpenAISettings
    settings: AzureOpenAISettings

    @property
    def model_name(self) -> str:
        return self.settings.deployment
