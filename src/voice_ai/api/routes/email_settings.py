"""The tenant's SMTP server for the messages callers leave, by e-mail (issue 13, ``docs/messages.md``).

Standalone the settings are stored here (the password encrypted, write-only: shown masked, a mask sent back keeps
it). In FusionPBX mode FusionPBX's own e-mail settings are used (Default/Domain Settings, category ``email``):
``GET`` shows them (the password masked) and changing them here is refused (409) — they are managed in FusionPBX."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from voice_ai.api.deps import RuntimeDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.crypto import mask_secret
from voice_ai.core.errors import ConflictError, NotFoundError
from voice_ai.core.secret_fields import safe_mask
from voice_ai.db.models import EmailSettings
from voice_ai.db.repositories.email_settings import EmailSettingsRepository
from voice_ai.schemas.email import EmailSettingsPublic, EmailSettingsWrite
from voice_ai.services.hooks import keep_or_encrypt_secret
from voice_ai.services.message_email import from_fusionpbx

router = APIRouter(
    prefix="/api/v1/domains/{domain_uuid}/email-settings", tags=["caller messages"], responses=errors(404)
)
IN_FUSIONPBX = (
    "the e-mail settings are FusionPBX's here: change them in FusionPBX (Default Settings or the domain's "
    "Settings, category email)"
)


def _present(runtime: Any, row: EmailSettings) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in EmailSettings.__table__.columns}
    data["smtp_password"] = safe_mask(runtime.secret_box, row.smtp_password) if row.smtp_password else None
    return data | {"source": "service"}


@router.get("", response_model=EmailSettingsPublic, summary="The SMTP server that e-mails messages")
async def get_email_settings(domain_uuid: TenantDep, session: SessionDep, runtime: RuntimeDep) -> Any:
    repo = EmailSettingsRepository(session)
    if not runtime.standalone:
        smtp = from_fusionpbx(await repo.fusionpbx(domain_uuid))
        if smtp is None:
            raise NotFoundError("E-mail settings")
        return {
            "source": "fusionpbx",
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_secure": smtp.secure,
            "smtp_username": smtp.username,
            "smtp_password": mask_secret(smtp.password) if smtp.password else None,
            "smtp_from": smtp.sender,
            "smtp_from_name": smtp.sender_name,
        }
    row = await repo.get(domain_uuid)
    if row is None:
        raise NotFoundError("E-mail settings")
    return _present(runtime, row)


@router.put(
    "",
    response_model=EmailSettingsPublic,
    summary="Set the SMTP server that e-mails messages (standalone)",
    responses=errors(409, 422),
)
async def put_email_settings(
    domain_uuid: TenantDep, session: SessionDep, runtime: RuntimeDep, body: EmailSettingsWrite
) -> Any:
    if not runtime.standalone:
        raise ConflictError(IN_FUSIONPBX)
    repo = EmailSettingsRepository(session)
    stored = await repo.get(domain_uuid)
    values = body.model_dump()
    values["smtp_password"] = keep_or_encrypt_secret(
        runtime.secret_box, body.smtp_password, stored.smtp_password if stored else None
    )
    return _present(runtime, await repo.put(domain_uuid, values))


@router.delete(
    "", status_code=status.HTTP_204_NO_CONTENT, summary="Remove the SMTP settings (standalone)", responses=errors(409)
)
async def delete_email_settings(domain_uuid: TenantDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    if not runtime.standalone:
        raise ConflictError(IN_FUSIONPBX)
    if not await EmailSettingsRepository(session).delete(domain_uuid):
        raise NotFoundError("E-mail settings")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
