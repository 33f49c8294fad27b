from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from voice_ai.schemas.common import Description, Strict

DomainName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"),
]


class DomainCreate(Strict):
    domain_name: DomainName
    domain_description: Description | None = None


class DomainPublic(BaseModel):
    domain_uuid: uuid.UUID
    domain_name: str
    domain_enabled: bool
    domain_description: str | None = None
