"""The structured decision every LLM returns for a call turn (JSON schema for vendors that support it).

``department`` names one of the tenant's transfer targets; the destination number is looked up from the
tenant's rules by the engine — a model never supplies a number.

The properties (and ``required``) are ordered **action, department, response**: OpenAI's structured outputs and
Gemini emit keys in the schema's order (Gemini follows ``required``), Anthropic's tool input in practice too. A
streamed decision thus says what happens to the call before its words, so the engine can speak the transfer
phrase at once, or speak the reply sentence by sentence knowing it is not a transfer. A model that puts
``response`` first still works: its words are only held back until the action is known.
"""

from __future__ import annotations

from typing import Any

ACTIONS = ("continue", "transfer", "hangup")

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": list(ACTIONS)},
        "department": {
            "type": ["string", "null"],
            "description": "For action=transfer: the exact name of one listed department, or null for the operator.",
        },
        "response": {"type": "string", "description": "What the secretary says next, short, for the phone."},
    },
    "required": ["action", "department", "response"],
    "additionalProperties": False,
}
