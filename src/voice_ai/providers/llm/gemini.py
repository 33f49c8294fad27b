"""Google Gemini (``models/{model}:generateContent``, ``x-goog-api-key``), JSON output by schema; streamed decisions
through ``models/{model}:streamGenerateContent?alt=sse`` (server-sent events, each a partial response)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr

from voice_ai.providers.base import LLMProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import ProviderError
from voice_ai.providers.http import HttpVendor
from voice_ai.providers.llm.prompting import parse_json, system_prompt
from voice_ai.providers.types import Capabilities, ChatMessage, ChatResult, DialogContext
from voice_ai.tools.toolbox import instructions

if TYPE_CHECKING:
    from voice_ai.tools.toolbox import Toolbox

RESPOND = "respond"  # the decision's own function when tools are offered


class GeminiSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "gemini-2.5-flash"
    base_url: str = "https://generativelanguage.googleapis.com"
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=300, ge=1, le=8192)
    thinking_budget: int | None = Field(
        default=0, ge=0, description="0: no thinking (fast replies; thinking tokens count against max_tokens)"
    )
    timeout_s: float = timeout_field(30.0)


class GeminiLLM(HttpVendor, LLMProvider):
    name = "gemini"
    display_name = "Google Gemini"
    description = "Gemini models through the Generative Language API."
    Settings: ClassVar[type[ProviderSettings]] = GeminiSettings
    capabilities = Capabilities(streaming=True, structured_output=True)
    function_calling = True
    settings: GeminiSettings

    def _body(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        s = self.settings
        system = "\n\n".join(
            p for p in [*(m.content for m in messages if m.role == "system"), system_prompt(context, None)] if p
        )
        body: dict[str, Any] = {
            "contents": [
                {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
                for m in messages
                if m.role != "system"
            ],
            "generationConfig": {
                "temperature": s.temperature if temperature is None else temperature,
                "maxOutputTokens": max_tokens or s.max_tokens,
            },
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if s.thinking_budget is not None:
            body["generationConfig"]["thinkingConfig"] = {"thinkingBudget": s.thinking_budget}
        if response_schema is not None:
            body["generationConfig"].update(
                {"responseMimeType": "application/json", "responseJsonSchema": response_schema}
            )
        return body

    async def _decide_stream_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        schema: dict[str, Any],
        max_tokens: int | None,
    ) -> AsyncIterator[str]:
        """Each server-sent event is a ``GenerateContentResponse`` carrying the next piece of the JSON text."""
        s = self.settings
        body = self._body(messages, context, schema, None, max_tokens)
        async with self.http_stream(
            "POST",
            f"{s.base_url.rstrip('/')}/v1beta/models/{s.model}:streamGenerateContent",
            timeout_s=s.timeout_s,
            params={"alt": "sse"},
            headers={"x-goog-api-key": s.api_key.get_secret_value()},
            json=body,
        ) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                try:
                    event = json.loads(line[5:])
                except ValueError:
                    raise ProviderError("Gemini sent an unreadable event", provider=self.label) from None
                if isinstance(event, dict) and "error" in event:
                    raise ProviderError(f"Gemini stream error: {event['error']}", provider=self.label, retryable=True)
                for candidate in (event.get("candidates") or [])[:1] if isinstance(event, dict) else []:
                    for part in (candidate.get("content") or {}).get("parts") or []:
                        if part.get("text") and not part.get("thought"):
                            yield str(part["text"])

    async def _chat_impl(
        self,
        messages: list[ChatMessage],
        context: DialogContext | None,
        response_schema: dict[str, Any] | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        s = self.settings
        body = self._body(messages, context, response_schema, temperature, max_tokens)
        response = await self.http_request(
            "POST",
            f"{s.base_url.rstrip('/')}/v1beta/models/{s.model}:generateContent",
            timeout_s=s.timeout_s,
            headers={"x-goog-api-key": s.api_key.get_secret_value()},
            json=body,
        )
        payload = response.json()
        try:
            candidate = payload["candidates"][0]
            parts = candidate["content"]["parts"]
        except (KeyError, IndexError, TypeError):
            reason = (payload.get("promptFeedback") or {}).get("blockReason") or (
                (payload.get("candidates") or [{}])[0].get("finishReason", "no candidates")
            )
            raise ProviderError(
                f"Gemini returned no answer ({reason})", provider=self.label, retryable=reason == "MAX_TOKENS"
            ) from None
        text = "".join(str(p.get("text", "")) for p in parts).strip()
        result = ChatResult(text)
        usage = payload.get("usageMetadata") or {}
        result.info.usage = {
            "input_tokens": usage.get("promptTokenCount", 0),
            "output_tokens": usage.get("candidatesTokenCount", 0),
        }
        if response_schema is not None:
            result.data = parse_json(text)
            if result.data is None:
                raise ProviderError("the model did not return the requested JSON", provider=self.label, retryable=True)
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
        """Gemini function calling: ``tools[].functionDeclarations`` (``parametersJsonSchema``) with the decision as
        one more function, ``respond``, and ``functionCallingConfig.mode: ANY`` (a function every round: the model
        ends by calling ``respond``; a JSON response type cannot be combined with function calling on every model).
        The model's content (its ``functionCall`` parts, with any thought signatures) goes back as it came, followed
        by a user turn of ``functionResponse`` parts. The last round (or once the turn's calls are spent) allows only
        ``respond``."""
        s = self.settings
        language = context.language if context else "pt-BR"
        body = self._body(
            [ChatMessage("system", instructions(language)), *messages], context, None, temperature, max_tokens
        )
        declarations = [
            {"name": d["name"], "description": d["description"], "parametersJsonSchema": d["parameters"]}
            for d in tools.declarations()
        ]
        declarations.append(
            {"name": RESPOND, "description": "Give the reply and the action.", "parametersJsonSchema": response_schema}
        )
        body["tools"] = [{"functionDeclarations": declarations}]
        used: dict[str, float] = {"input_tokens": 0, "output_tokens": 0}
        rounds = tools.max_calls + 2
        for round_number in range(rounds):
            final = tools.exhausted or round_number == rounds - 1
            config: dict[str, Any] = {"mode": "ANY"}
            if final:
                config["allowedFunctionNames"] = [RESPOND]
            body["toolConfig"] = {"functionCallingConfig": config}
            response = await self.http_request(
                "POST",
                f"{s.base_url.rstrip('/')}/v1beta/models/{s.model}:generateContent",
                timeout_s=s.timeout_s,
                headers={"x-goog-api-key": s.api_key.get_secret_value()},
                json=body,
            )
            payload = response.json()
            usage = payload.get("usageMetadata") or {}
            used["input_tokens"] += usage.get("promptTokenCount", 0)
            used["output_tokens"] += usage.get("candidatesTokenCount", 0)
            try:
                content = payload["candidates"][0]["content"]
                parts = content["parts"]
            except (KeyError, IndexError, TypeError):
                raise ProviderError("Gemini returned no answer", provider=self.label, retryable=True) from None
            calls = [p["functionCall"] for p in parts if isinstance(p.get("functionCall"), dict)]
            decision = next((c for c in calls if c.get("name") == RESPOND), None)
            if decision is not None or not calls:
                text = "".join(str(p.get("text", "")) for p in parts if not p.get("thought")).strip()
                data = decision.get("args") if decision is not None else parse_json(text)
                if not isinstance(data, dict):
                    raise ProviderError(
                        "the model did not call the response function", provider=self.label, retryable=True
                    )
                result = ChatResult(str(data.get("response", text)), dict(data))
                result.info.usage = used
                return result
            body["contents"].append(content)
            answers = []
            for call in calls:
                outcome = await tools.call(str(call.get("name")), call.get("args") or {})
                value = parse_json(outcome.content) if outcome.content.lstrip().startswith("{") else None
                answer: dict[str, Any] = {"name": call.get("name"), "response": value or {"result": outcome.content}}
                if call.get("id"):
                    answer["id"] = call["id"]
                answers.append({"functionResponse": answer})
            body["contents"].append({"role": "user", "parts": answers})
        raise ProviderError("the model did not decide after its tool calls", provider=self.label)
