"""Anthropic's Messages API through the official ``anthropic`` SDK (the ``anthropic`` extra).

Structured decisions use a forced tool call whose input schema is the requested JSON schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr

from voice_ai.providers.base import LLMProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import (
    ProviderError,
    ProviderNotInstalledError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    from_http_status,
)
from voice_ai.providers.llm.prompting import system_prompt
from voice_ai.providers.sdk import build_client
from voice_ai.providers.types import Capabilities, ChatMessage, ChatResult, DialogContext
from voice_ai.tools.toolbox import instructions

if TYPE_CHECKING:
    from voice_ai.tools.toolbox import Toolbox

TOOL_NAME = "respond"


class AnthropicSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "claude-haiku-4-5"
    base_url: str = Field(default="https://api.anthropic.com", description="Change only for a proxy or gateway")
    temperature: float | None = Field(
        default=None, ge=0, le=1, description="Only for models that still accept it; unset: the model's default"
    )
    max_tokens: int = Field(default=300, ge=1, le=8192)
    timeout_s: float = timeout_field(30.0)


def _sdk() -> Any:
    try:
        import anthropic
    except ImportError:
        raise ProviderNotInstalledError(
            "the anthropic SDK is not installed: pip install 'voice-ai-ivr[anthropic]'", provider="anthropic"
        ) from None
    return anthropic


class AnthropicLLM(LLMProvider):
    name = "anthropic"
    display_name = "Anthropic Claude"
    description = "Claude models through Anthropic's Messages API."
    Settings = AnthropicSettings
    capabilities = Capabilities(streaming=True, structured_output=True)
    extra = "anthropic"
    function_calling = True
    settings: AnthropicSettings
    _client: Any = None

    def client(self) -> Any:
        if self._client is None:
            s = self.settings
            self._client = build_client(
                _sdk().AsyncAnthropic,
                api_key=s.api_key.get_secret_value(),
                base_url=s.base_url,
                timeout=s.timeout_s,
                max_retries=0,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _messages_request(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        system = "\n\n".join(
            part
            for part in [*(m.content for m in messages if m.role == "system"), system_prompt(context, None)]
            if part
        )
        request: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": max_tokens or self.settings.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in messages if m.role != "system"],
        }
        if system:
            request["system"] = system
        chosen_temperature = self.settings.temperature if temperature is None else temperature
        if chosen_temperature is not None:
            # not a named argument of current SDKs (newer models fix it); sent as-is when configured
            request["extra_body"] = {"temperature": chosen_temperature}
        if response_schema is not None:
            request["tools"] = [
                {"name": TOOL_NAME, "description": "Give the reply and the action.", "input_schema": response_schema}
            ]
            request["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
        return request

    async def _decide_stream_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """The forced tool call's input as Anthropic streams it: ``content_block_delta`` events whose
        ``input_json_delta.partial_json`` pieces make up the decision's JSON."""
        request = self._messages_request(messages, context, schema, None, max_tokens)
        try:
            stream = await self.client().messages.create(**request, stream=True)
        except Exception as exc:
            raise self._map(exc) from None
        try:
            async for event in stream:
                delta = getattr(event, "delta", None) if event.type == "content_block_delta" else None
                if delta is not None and delta.type == "input_json_delta" and delta.partial_json:
                    yield delta.partial_json
        except ProviderError:
            raise
        except Exception as exc:  # an error event mid-stream (overloaded_error) arrives as an APIStatusError
            raise self._map(exc) from None
        finally:
            await stream.close()

    async def _chat_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        request = self._messages_request(messages, context, response_schema, temperature, max_tokens)
        try:
            message = await self.client().messages.create(**request)
        except Exception as exc:
            raise self._map(exc) from None
        text = "".join(block.text for block in message.content if block.type == "text").strip()
        result = ChatResult(text)
        result.info.usage = {"input_tokens": message.usage.input_tokens, "output_tokens": message.usage.output_tokens}
        if response_schema is not None:
            tool = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
            if tool is None or not isinstance(tool.input, dict):
                raise ProviderError("the model did not call the response tool", provider=self.label, retryable=True)
            result.data = dict(tool.input)
            result.text = str(result.data.get("response", text))
        return result

    async def _chat_tools_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any],
        tools: Toolbox,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        """Messages API tool use: the tenant's tools beside the decision's own ``respond`` tool, with
        ``tool_choice: any`` (a tool every round: the model ends by calling ``respond``); each ``tool_use`` block is
        answered by a ``tool_result`` block (``is_error`` for a failure) in the next user message. The last round (or
        once the turn's calls are spent) forces ``respond``."""
        request = self._tools_request(messages, context, response_schema, tools, temperature, max_tokens)
        conversation: list[dict[str, Any]] = request["messages"]
        used: dict[str, float] = {"input_tokens": 0, "output_tokens": 0}
        rounds = tools.max_calls + 2
        for round_number in range(rounds):
            final = tools.exhausted or round_number == rounds - 1
            request["tool_choice"] = {"type": "tool", "name": TOOL_NAME} if final else {"type": "any"}
            try:
                message = await self.client().messages.create(**request)
            except Exception as exc:
                raise self._map(exc) from None
            used["input_tokens"] += message.usage.input_tokens
            used["output_tokens"] += message.usage.output_tokens
            uses = [b for b in message.content if b.type == "tool_use"]
            decision = next((b for b in uses if b.name == TOOL_NAME), None)
            if decision is not None or not uses:
                if decision is None or not isinstance(decision.input, dict):
                    raise ProviderError("the model did not call the response tool", provider=self.label, retryable=True)
                text = "".join(block.text for block in message.content if block.type == "text").strip()
                result = ChatResult(str(decision.input.get("response", text)), dict(decision.input))
                result.info.usage = used
                return result
            conversation.append({"role": "assistant", "content": [_block(b) for b in message.content]})
            await _answer_uses(conversation, [(use.id, use.name, use.input) for use in uses], tools)
        raise ProviderError("the model did not decide after its tool calls", provider=self.label)

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
        request = self._messages_request(
            [ChatMessage("system", instructions(language)), *messages],
            context,
            response_schema,
            temperature,
            max_tokens,
        )
        respond = request["tools"][0]
        request["tools"] = [
            *(
                {"name": d["name"], "description": d["description"], "input_schema": d["parameters"]}
                for d in tools.declarations()
            ),
            respond,
        ]
        return request

    async def _tools_decision(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        tools: Toolbox,
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """A streamed decision with tools: every round is streamed; the ``respond`` tool's input is handed out as its
        ``input_json_delta`` pieces arrive (the decision, spoken as it comes); another tool's input is gathered, the
        tool called, and the next round follows."""
        request = self._tools_request(messages, context, schema, tools, None, max_tokens)
        conversation: list[dict[str, Any]] = request["messages"]
        rounds = tools.max_calls + 2
        for round_number in range(rounds):
            final = tools.exhausted or round_number == rounds - 1
            request["tool_choice"] = {"type": "tool", "name": TOOL_NAME} if final else {"type": "any"}
            try:
                stream = await self.client().messages.create(**request, stream=True)
            except Exception as exc:
                raise self._map(exc) from None
            blocks: dict[int, dict[str, str]] = {}
            deciding = False
            try:
                async for event in stream:
                    if event.type == "content_block_start":
                        block = event.content_block
                        blocks[event.index] = {
                            "type": block.type,
                            "id": getattr(block, "id", "") or "",
                            "name": getattr(block, "name", "") or "",
                            "json": "",
                            "text": "",
                        }
                    elif event.type == "content_block_delta" and event.index in blocks:
                        entry, delta = blocks[event.index], event.delta
                        if delta.type == "input_json_delta" and delta.partial_json:
                            entry["json"] += delta.partial_json
                            if entry["name"] == TOOL_NAME:
                                deciding = True
                                yield delta.partial_json
                        elif delta.type == "text_delta":
                            entry["text"] += delta.text
            except ProviderError:
                raise
            except Exception as exc:  # an error event mid-stream (overloaded_error) arrives as an APIStatusError
                raise self._map(exc) from None
            finally:
                await stream.close()
            if deciding:
                return
            uses = [b for b in blocks.values() if b["type"] == "tool_use"]
            if not uses or final:
                raise ProviderError("the model did not call the response tool", provider=self.label, retryable=True)
            content: list[dict[str, Any]] = [
                {"type": "text", "text": b["text"]} for b in blocks.values() if b["type"] == "text" and b["text"]
            ]
            calls = []
            for use in uses:
                try:
                    arguments: Any = json.loads(use["json"] or "{}")
                except ValueError:
                    arguments = use["json"]
                content.append({"type": "tool_use", "id": use["id"], "name": use["name"], "input": arguments})
                calls.append((use["id"], use["name"], arguments))
            conversation.append({"role": "assistant", "content": content})
            await _answer_uses(conversation, calls, tools)
        raise ProviderError("the model did not decide after its tool calls", provider=self.label)

    def _map(self, exc: Exception) -> ProviderError:
        sdk = _sdk()
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderTimeoutError("Anthropic did not answer in time", provider=self.label)
        if isinstance(exc, sdk.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = str((body.get("error") or {}).get("message") or exc.message)
            retry_after = exc.response.headers.get("retry-after")
            return from_http_status(
                exc.status_code,
                detail,
                provider=self.label,
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if isinstance(exc, sdk.APIConnectionError):
            return ProviderUnavailableError(f"cannot reach Anthropic: {exc}", provider=self.label)
        return ProviderError(f"unexpected error: {type(exc).__name__}: {str(exc)[:200]}", provider=self.label)


def _block(block: Any) -> dict[str, Any]:
    """A response content block sent back as it came (the assistant's turn of the tool exchange)."""
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if block.type == "text":
        return {"type": "text", "text": block.text}
    dumped: dict[str, Any] = block.model_dump(exclude_none=True)  # thinking blocks keep their signature
    return dumped


async def _answer_uses(conversation: list[dict[str, Any]], calls: list[tuple[str, str, Any]], tools: Toolbox) -> None:
    """Each ``tool_use`` (id, name, input) answered by a ``tool_result`` block in the next user message."""
    results = []
    for use_id, name, arguments in calls:
        outcome = await tools.call(name, arguments)
        results.append(
            {"type": "tool_result", "tool_use_id": use_id, "content": outcome.content, "is_error": not outcome.ok}
        )
    conversation.append({"role": "user", "content": results})
