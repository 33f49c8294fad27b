"""The structured decision every LLM returns for a call turn (JSON schema for vendors that support it).

``department`` names one of the tenant's transfer targets; the destination number is looked up from the
tenant's rules by the engine — a model never supplies a number.
"""

from __future__ import annotations

from typing import Any

ACTIONS = ("continue", "transfer", "hangup")

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "response": {"type": "string", "description": "What the secretary says next, short, for the phone."},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "department": {
            "type": ["string", "null"],
            "description": "For action=transfer: the exact name of one listed department, or null for the operator.",
        },
    },
    "required": ["response", "action", "department"],
    "additionalProperties": False,
}
