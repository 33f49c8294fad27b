"""From a model's decision to an action the telephony side can execute — safely.

A transfer destination is always one of the tenant's enabled transfer rules (matched by department name) or
the secretary's operator destination. Nothing the model or the caller wrote is ever used as a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voice_ai.providers.llm.text import fold
from voice_ai.providers.types import TransferTarget

ACTIONS = ("continue", "transfer", "hangup")


@dataclass(frozen=True)
class Transfer:
    destination: str
    context: str | None
    department: str | None  # None: the operator
    ring_seconds: int | None = None  # issue 13: the rule's ring time (None: the call flow's default)
    announce: bool = False  # issue 13: an announced transfer


@dataclass(frozen=True)
class Action:
    kind: str  # continue | transfer | hangup
    transfer: Transfer | None = None
    say: str | None = None  # fixed words that replace the model's (a transfer refused outside opening hours)


def resolve(
    decision: dict[str, Any] | None,
    targets: list[TransferTarget],
    *,
    operator: str | None,
    operator_context: str | None,
) -> Action:
    """The executable action for a decision; an unknown department goes to the operator, never elsewhere."""
    kind = str((decision or {}).get("action", "continue")).lower()
    if kind not in ACTIONS:
        kind = "continue"
    if kind != "transfer":
        return Action(kind)
    wanted = fold(str((decision or {}).get("department") or "")).strip()
    for target in targets:
        if wanted and fold(target.department).strip() == wanted:
            return Action(
                "transfer",
                Transfer(
                    target.destination,
                    target.context or operator_context,
                    target.department,
                    target.ring_seconds,
                    target.announce,
                ),
            )
    if operator:
        return Action("transfer", Transfer(operator, operator_context, None))
    return Action("continue")  # nowhere safe to send the caller: keep talking
