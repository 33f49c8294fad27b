from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from voice_ai.schemas.common import Name, ORMModel, Strict


class DocumentCreate(Strict):
    """Document metadata. Uploading the content (and ingestion) is a separate endpoint."""

    name: Name
    mime_type: str = Field(pattern=r"^[a-z]+/[a-zA-Z0-9.+-]+$", max_length=100)
    size_bytes: int = Field(default=0, ge=0, le=2**53)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    enabled: bool = True


class DocumentUpdate(Strict):
    name: Name | None = None
    enabled: bool | None = None


class DocumentPublic(ORMModel):
    voice_document_uuid: uuid.UUID
    domain_uuid: uuid.UUID
    name: str
    mime_type: str
    size_bytes: int
    sha256: str | None
    status: str
    error: str | None
    chunk_count: int
    progress: int = Field(description="Percent of the document indexed (while status is processing)")
    enabled: bool
    insert_date: datetime
    update_date: datetime
