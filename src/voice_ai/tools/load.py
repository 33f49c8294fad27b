"""A call turn's toolbox: the secretary's enabled tools, their header secrets decrypted (read in the turn's first
transaction, like the rest of its context)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.crypto import SecretBox, SecretKeyError
from voice_ai.core.logging import register_secret
from voice_ai.core.secret_fields import decrypt_config
from voice_ai.db.models import Tool
from voice_ai.db.repositories.tools import ToolRepository
from voice_ai.tools.spec import ToolSpec, secret_forms
from voice_ai.tools.toolbox import Toolbox
from voice_ai.tools.urls import networks

logger = logging.getLogger(__name__)
MAX_TOOLS = 20  # offered to the model per turn (each declaration costs prompt tokens and time)


async def turn_toolbox(
    session: AsyncSession, runtime: Any, domain_uuid: uuid.UUID, secretary_uuid: uuid.UUID
) -> Toolbox | None:
    """None when the secretary has no enabled tool."""
    rows = await ToolRepository(session).for_secretary(domain_uuid, secretary_uuid, limit=MAX_TOOLS)
    specs = []
    for row in rows:
        try:
            specs.append(tool_spec(row, runtime.secret_box))
        except SecretKeyError:
            logger.warning("tool %s: its headers cannot be decrypted with the current key; not offered", row.name)
    if not specs:
        return None
    return Toolbox(specs, allow=networks(runtime.settings.tools_allow_networks))


def tool_spec(row: Tool, box: SecretBox) -> ToolSpec:
    """A stored tool, ready to call (its header values decrypted: SecretKeyError when the key cannot)."""
    headers = decrypt_config(row.headers or {}, box)
    for value in headers.values():  # scrubbed from any log line or error text that would contain it
        if isinstance(value, str):
            for form in secret_forms(value):
                register_secret(form)
    return ToolSpec(
        row.name,
        row.description,
        row.parameters,
        row.url,
        row.method,
        {k: str(v) for k, v in headers.items() if v not in (None, "")},
        float(row.timeout_s),
        int(row.max_response_bytes),
    )


def tool_log(toolbox: Toolbox | None) -> list[dict[str, Any]] | None:
    """What is stored with the turn's reply (``v_voice_messages.tool_calls``): None when no tool was called."""
    return list(toolbox.log) if toolbox is not None and toolbox.log else None
