"""E-mail of the messages callers leave (issue 13): the recipients' field and the tenant's SMTP settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from voice_ai.schemas.common import ORMModel, Strict

_ADDRESS = r"[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+"
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=rf"^{_ADDRESS}$")]
# addresses separated by commas; no line breaks (nothing can be smuggled into a header)
MessageEmail = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=rf"^{_ADDRESS}( *, *{_ADDRESS})*$")
]
Host = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")
]
Secure = Literal["none", "tls", "ssl"]


class EmailSettingsWrite(Strict):
    """The tenant's SMTP server (standalone). ``smtp_secure``: ``tls`` = STARTTLS (port 587), ``ssl`` = TLS from the
    start (465), ``none`` = plain (a relay on the same network only)."""

    smtp_host: Host
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_secure: Secure = "tls"
    smtp_username: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    smtp_password: str | None = Field(
        default=None, max_length=500, description="Write-only: shown masked; send the mask back to keep it."
    )
    smtp_from: Address
    smtp_from_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\r\n]*$")] | None
    ) = None


class EmailSettingsPublic(ORMModel):
    source: Literal["service", "fusionpbx"] = Field(
        description="'service': stored here (standalone); 'fusionpbx': FusionPBX's e-mail settings (read-only here)"
    )
    smtp_host: str
    smtp_port: int
    smtp_secure: str
    smtp_username: str | None
    smtp_password: str | None = Field(description="Masked.")
    smtp_from: str
    smtp_from_name: str | None
