"""What a call turn hands to an LLM with function calling: the tenant's tools and the turn's bounds.

- **Count**: at most ``max_calls`` tool executions per turn (default 3); beyond it the model is told the limit is
  reached, and the vendor's loop asks for the final decision with tools off.
- **Time**: each call gets its tool's timeout, cut to what the turn has left minus ``FINAL_ROUND_S`` (the model
  still has to write its reply); the whole LLM stage stays within the turn's deadline
  (:mod:`voice_ai.conversation.budget`).
- **Size**: each response is bounded by its tool's ``max_response_bytes`` (:mod:`.executor`).
- **Arguments** are checked against the tool's JSON schema before any request; a bad one is an error the model
  reads (and may correct), not a request.
- **Once per turn**: the same tool with the same arguments runs once per turn; a repeat (the model asking again,
  a retry of the LLM, the next provider of the fallback chain) gets the first result. A tool that opens a ticket
  is not called twice because a vendor timed out.
- **Log**: every call (name, arguments, outcome, status, time) is kept in :attr:`Toolbox.log` and stored with
  the turn's reply (``v_voice_messages.tool_calls``); response bodies and header values are not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from voice_ai.providers import deadline
from voice_ai.tools.executor import ToolResult, _error, execute
from voice_ai.tools.spec import ToolSpec, argument_problem
from voice_ai.tools.urls import Network

logger = logging.getLogger(__name__)
DEFAULT_MAX_CALLS = 3
FINAL_ROUND_S = 1.5  # what a tool leaves of the turn for the model's final reply
MAX_LOGGED_ARGUMENTS = 500

INSTRUCTIONS = {
    "pt": (
        "Você pode usar as ferramentas listadas para consultar ou registrar informações da empresa quando o "
        "chamador pedir. Se uma ferramenta falhar ou não responder, peça desculpas em uma frase curta, diga que não "
        "conseguiu consultar agora e ofereça transferir para um atendente. Nunca invente o resultado de uma ferramenta."
    ),
    "en": (
        "You may use the listed tools to look up or record the company's information when the caller asks. If a "
        "tool fails or does not answer, apologise in one short sentence, say you could not check it now and offer "
        "a transfer to a person. Never invent a tool's result."
    ),
}


def instructions(language: str) -> str:
    return INSTRUCTIONS["en" if language.lower().startswith("en") else "pt"]


@dataclass
class Toolbox:
    tools: Sequence[ToolSpec]
    allow: tuple[Network, ...] = ()
    max_calls: int = DEFAULT_MAX_CALLS
    log: list[dict[str, Any]] = field(default_factory=list)
    _done: dict[str, ToolResult] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tools)

    @property
    def calls(self) -> int:
        return len(self._done)

    @property
    def exhausted(self) -> bool:
        return self.calls >= self.max_calls

    @property
    def failed(self) -> bool:
        return any(not entry["ok"] for entry in self.log)

    def declarations(self) -> list[dict[str, Any]]:
        return [tool.declaration() for tool in self.tools]

    def find(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    async def call(self, name: str, arguments: Any) -> ToolResult:
        """Run one tool call the model asked for; the result is always something the model can read."""
        key = json.dumps([name, arguments], sort_keys=True, ensure_ascii=False, default=str)
        if key in self._done:
            return self._done[key]
        tool = self.find(name)
        if tool is None:
            return self._logged(
                name, arguments, ToolResult(False, _error(f"no tool named {name}"), error="unknown tool")
            )
        if not isinstance(arguments, dict):
            return self._logged(
                name, arguments, ToolResult(False, _error("arguments must be an object"), error="bad arguments")
            )
        problem = argument_problem(tool.parameters, arguments)
        if problem is not None:
            message = f"invalid arguments at {'/'.join(problem[0]) or '(arguments)'}: {problem[1]}"
            return self._logged(name, arguments, ToolResult(False, _error(message), error="invalid arguments"))
        if self.exhausted:
            message = "the limit of tool calls for this turn is reached: answer the caller now"
            return self._logged(name, arguments, ToolResult(False, _error(message), error="call limit"))
        live = deadline.remaining()
        result = await execute(
            tool, arguments, allow=self.allow, time_left=None if live is None else live - FINAL_ROUND_S
        )
        self._done[key] = result
        return self._logged(name, arguments, result)

    def _logged(self, name: str, arguments: Any, result: ToolResult) -> ToolResult:
        shown = json.dumps(arguments, ensure_ascii=False, default=str)
        entry: dict[str, Any] = {
            "tool": name,
            "arguments": arguments if len(shown) <= MAX_LOGGED_ARGUMENTS else shown[:MAX_LOGGED_ARGUMENTS] + "…",
            "ok": result.ok,
            "status": result.status,
            "ms": result.ms,
        }
        if result.error:
            entry["error"] = result.error
            logger.warning("tool %s failed: %s", name, result.error)
        self.log.append(entry)
        return result

    def timings(self) -> dict[str, float]:
        """The turn's time in tools (``tools_ms``), for the stored turn's timings (the calls: ``tool_calls``)."""
        if not self.log:
            return {}
        return {"tools_ms": round(sum(float(e["ms"]) for e in self.log), 1)}
