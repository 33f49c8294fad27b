"""How a dialog context becomes instructions for a real LLM (the policy reads the context directly).

A voice turn (``context.heard``) adds what the model must know to cope with recognition errors: the words came
through speech recognition, the reading with the company's own terms restored, the recogniser's other hypotheses
and its confidence — and the instruction to confirm the likely meaning in one short question rather than guess.
"""

from __future__ import annotations

import json
import re
from typing import Any

from voice_ai.conversation.phrases import phrase
from voice_ai.providers.types import ChatMessage, DialogContext, Heard, Opening

_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")
LOW_CONFIDENCE = 0.6
MAX_ALTERNATIVES = 3


def heard_lines(heard: Heard) -> list[str]:
    """The speech-recognition note of a voice turn (short: it is in every voice turn's prompt)."""
    lines = [
        "The caller spoke on the phone: their last message is a speech-recognition transcript and may have words "
        "wrong (similar-sounding words, words split or joined)."
    ]
    if heard.repaired:
        lines.append(f'Read with the company\'s own terms restored: "{heard.repaired}"')
    alternatives = [a for a in heard.alternatives if a.strip()][:MAX_ALTERNATIVES]
    if alternatives:
        lines.append("Other readings of the same audio: " + "; ".join(f'"{a.strip()}"' for a in alternatives))
    if heard.confidence is not None:
        level = "low" if heard.confidence < LOW_CONFIDENCE else "fair"
        lines.append(f"Recognition confidence: {level} ({heard.confidence:.2f}).")
    lines.append(
        "If you are not sure what the caller meant, do not guess: confirm the likely meaning in one short question "
        "(or name the two or three closest topics or departments). Never invent a fact."
    )
    return lines


def opening_lines(opening: Opening, language: str = "pt-BR") -> list[str]:
    """Opening hours: the time now, and what is closed (a transfer there is refused: say so and offer a message —
    with the exact offer phrase, the one the message capture answers: ``voice_ai.conversation.message_taking``)."""
    offer = phrase(language, "offer_message")
    lines = [f"Now: {opening.now}."]
    if not opening.open:
        when = f" (opens {opening.opens})" if opening.opens else ""
        lines.append(
            f"The company is closed now{when}: no attendant is available. To offer to take a message, end your reply "
            f'with exactly "{offer}"'
        )
    if opening.closed:
        lines.append(
            "Departments closed now (do not transfer there: say it is closed and when it opens, and end your reply "
            f'with exactly "{offer}" to offer to take a message):'
        )
        lines += [f"- {name}" + (f": opens {when}" if when else "") for name, when in opening.closed.items()]
    elif opening.open:
        lines.append("Every department is open now.")
    return lines


def system_prompt(context: DialogContext | None, response_schema: dict[str, Any] | None) -> str | None:
    if context is None and response_schema is None:
        return None
    context = context or DialogContext()
    english = context.language.lower().startswith("en")
    lines = [
        f"You are the phone receptionist of {context.company_name or 'the company'}. "
        f"Answer in {'English' if english else 'Brazilian Portuguese'}, in one or two short spoken sentences.",
        "Use only the company information below; if it does not answer the question, say so and offer a transfer.",
    ]
    if context.passages:
        lines.append("Company information:")
        lines += [f"- {p.content.strip()}" for p in context.passages]
    if context.transfer_targets:
        lines.append("Departments you may transfer to (use the exact name):")
        lines += [f"- {t.department}: {t.description}".rstrip(": ") for t in context.transfer_targets]
    if context.opening is not None:
        lines += opening_lines(context.opening, context.language)
    if context.heard is not None:
        lines += heard_lines(context.heard)
    if response_schema is not None:
        lines.append(
            "Reply with a JSON object only, matching this schema: " + json.dumps(response_schema, ensure_ascii=False)
        )
    return "\n".join(lines)


def with_system(messages: list[ChatMessage], system: str | None) -> list[ChatMessage]:
    if not system:
        return messages
    rest = [m for m in messages if m.role != "system"]
    own = "\n\n".join(m.content for m in messages if m.role == "system")
    return [ChatMessage("system", f"{own}\n\n{system}" if own else system), *rest]


def parse_json(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's reply (tolerates code fences); None when there is none."""
    try:
        value = json.loads(_FENCE.sub("", text))
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            return None
        try:
            value = json.loads(text[start : end + 1])
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
