"""Per-resource rules applied between the API and the repositories: reference checks across tables,
secrets encrypted on the way in and masked on the way out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from voice_ai.core.crypto import SecretBox
from voice_ai.core.errors import FieldError
from voice_ai.core.secret_fields import (
    decrypt_config,
    encrypt_config,
    is_echoed_mask,
    mask_config,
    merge_config,
    safe_mask,
)
from voice_ai.db.models import Provider, Secretary, TransferRule
from voice_ai.db.repositories.entities import ProviderRepository
from voice_ai.providers.base import ProviderSettings, secret_field_names
from voice_ai.providers.errors import ProviderError, ProviderNotInstalledError
from voice_ai.providers.registry import missing_extra, provider_class
from voice_ai.schedules.admin import check_schedule_refs
from voice_ai.services.destinations import check_transfer_target

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
    await check_transfer_target(
        ctx, values, row, destination_field="operator_destination", context_field="operator_context"
    )
    await check_schedule_refs(ctx, values, row)  # opening hours
    if "webhook_url" in values and values["webhook_url"] is not None:
        values["webhook_url"] = str(values["webhook_url"])
    if "webhook_secret" in values:
        values["webhook_secret"] = keep_or_encrypt_secret(
            ctx.box, values["webhook_secret"], row.webhook_secret if row else None
        )
    return values


async def prepare_rule(ctx: Context, values: dict[str, Any], row: TransferRule | None) -> dict[str, Any]:
    await check_transfer_target(
        ctx, values, row, destination_field="destination_number", context_field="destination_context"
    )
    await check_schedule_refs(ctx, values, row)  # opening hours
    return values


def present_secretary(ctx: Context, row: Secretary) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in Secretary.__table__.columns}
    if row.webhook_secret:
        data["webhook_secret"] = safe_mask(ctx.box, row.webhook_secret)
    return data


def _provider_settings(kind: str, name: str, *, enabled: bool) -> type[ProviderSettings]:
    """The provider's settings schema; an enabled provider that cannot work on this installation (its optional
    extra is missing) is refused, naming the extra. A disabled one may still be edited (or deleted)."""
    try:
        cls = provider_class(kind, name)
    except ProviderNotInstalledError as exc:
        raise FieldError("provider_name", exc.message, "not_installed") from None
    except ProviderError as exc:
        raise FieldError("provider_name", exc.message) from None
    extra = missing_extra(cls)
    if extra is not None and enabled:
        raise FieldError(
            "provider_name",
            f"the {kind} provider {name!r} needs the optional extra {extra!r}, which is not installed on this "
            f"server: install it there (pip install 'voice-ai-ivr[{extra}]') and restart the service",
            "not_installed",
        )
    return cls.Settings


def _validate_settings(settings: type[ProviderSettings], stored: dict[str, Any], box: SecretBox) -> None:
    """The merged config must fit the provider's settings schema (errors name fields, never values)."""
    try:
        settings.model_validate(decrypt_config(stored, box, lenient=True))
    except ValidationError as exc:
        errors = [("config." + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise FieldError(errors[0][0], errors[0][1], "invalid_config", errors[1:]) from None


async def prepare_provider(ctx: Context, values: dict[str, Any], row: Provider | None) -> dict[str, Any]:
    kind = values.get("provider_type") or (row.provider_type if row else "")
    name = values.get("provider_name") or (row.provider_name if row else "")
    enabled = bool(values["enabled"] if values.get("enabled") is not None else (row.enabled if row else True))
    settings = _provider_settings(kind, name, enabled=enabled)
    secrets = secret_field_names(settings)
    if "config" in values or row is None:
        patch = values.get("config") or {}
        values["config"] = (
            merge_config(row.config, patch, ctx.box, secrets) if row else encrypt_config(patch, ctx.box, secrets)
        )
    _validate_settings(settings, values.get("config", row.config if row else {}), ctx.box)
    if values.get("is_default"):
        await ProviderRepository(ctx.session).clear_default(
            ctx.domain_uuid, str(kind), except_uuid=row.voice_ai_provider_uuid if row else None
        )
    return values


def present_provider(ctx: Context, row: Provider) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in Provider.__table__.columns}
    data["config"] = mask_config(row.config or {}, ctx.box)
    return data
