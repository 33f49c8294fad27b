"""Per-resource rules applied between the API and the repositories: reference checks across tables,
secrets encrypted on the way in and masked on the way out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.crypto import SecretBox
from voice_ai.core.errors import FieldError
from voice_ai.core.secret_fields import encrypt_config, is_echoed_mask, mask_config, merge_config, safe_mask
from voice_ai.db.models import Provider, Secretary
from voice_ai.db.repositories.entities import ProviderRepository

PROVIDER_KINDS = ("stt", "tts", "llm", "embeddings")


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    domain_uuid: uuid.UUID
    box: SecretBox


def keep_or_encrypt_secret(box: SecretBox, new: str | None, stored: str | None) -> str | None:
    """A single write-only secret: a mask sent back keeps the stored value; empty or null clears it."""
    if not new:
        return None
    if stored and is_echoed_mask(box, new, stored):
        return stored
    return box.encrypt(new)


async def prepare_secretary(ctx: Context, values: dict[str, Any], row: Secretary | None) -> dict[str, Any]:
    for kind in PROVIDER_KINDS:
        field = f"{kind}_provider_uuid"
        ref = values.get(field)
        if ref is None:
            continue
        provider = await ProviderRepository(ctx.session).get(ctx.domain_uuid, ref)
        if provider is None:
            raise FieldError(field, f"no {kind} provider with this id in this domain", "invalid_reference")
        if provider.provider_type != kind:
            raise FieldError(
                field,
                f"provider {ref} is a {provider.provider_type} provider, not {kind}",
                "invalid_reference",
            )
    if "webhook_url" in values and values["webhook_url"] is not None:
        values["webhook_url"] = str(values["webhook_url"])
    if "webhook_secret" in values:
        values["webhook_secret"] = keep_or_encrypt_secret(
            ctx.box, values["webhook_secret"], row.webhook_secret if row else None
        )
    return values


def present_secretary(ctx: Context, row: Secretary) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in Secretary.__table__.columns}
    if row.webhook_secret:
        data["webhook_secret"] = safe_mask(ctx.box, row.webhook_secret)
    return data


async def prepare_provider(ctx: Context, values: dict[str, Any], row: Provider | None) -> dict[str, Any]:
    if "config" in values:
        patch = values["config"] or {}
        values["config"] = merge_config(row.config, patch, ctx.box) if row else encrypt_config(patch, ctx.box)
    if values.get("is_default"):
        kind = values.get("provider_type") or (row.provider_type if row else None)
        await ProviderRepository(ctx.session).clear_default(
            ctx.domain_uuid, str(kind), except_uuid=row.voice_ai_provider_uuid if row else None
        )
    return values


def present_provider(ctx: Context, row: Provider) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in Provider.__table__.columns}
    data["config"] = mask_config(row.config or {}, ctx.box)
    return data
