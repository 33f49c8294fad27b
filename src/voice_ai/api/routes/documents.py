"""Document upload and (re)indexing; the indexing itself runs as a background job (``voice_ai.jobs``)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel, Field

from voice_ai.api.deps import RuntimeDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import ConflictError, FieldError, NotFoundError, ServiceError, ServiceUnavailableError
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.rag.extract import MAX_DOCUMENT_BYTES, MIME_OF, DocumentError, detect_kind
from voice_ai.rag.retrieve import retrieve
from voice_ai.schemas.common import Name, Question
from voice_ai.schemas.documents import DocumentPublic
from voice_ai.services.vocabulary import tenant_language

router = APIRouter(prefix="/api/v1/domains/{domain_uuid}", tags=["documents"], responses=errors(404))


class DocumentRejected(ServiceError):
    def __init__(self, exc: DocumentError) -> None:
        super().__init__(str(exc))
        self.status_code = exc.status


def _rejected(exc: DocumentError) -> ServiceError:
    """413/415 as a plain message; a 422 names the field like every other 422 (``detail`` is the error array)."""
    return FieldError("file", str(exc), "invalid_document") if exc.status == 422 else DocumentRejected(exc)


async def _enqueue(runtime: Any, domain_uuid: uuid.UUID, document_uuid: uuid.UUID) -> None:
    if runtime.jobs is None:
        raise ServiceUnavailableError("the job queue is not available")
    await runtime.jobs.ingest(domain_uuid, document_uuid)


@router.post(
    "/documents/upload",
    response_model=DocumentPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a PDF, DOCX, HTML, Markdown or text document; it is indexed in the background",
    responses=errors(409, 413, 415),
)
async def upload(
    domain_uuid: TenantDep,
    session: SessionDep,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description=f"At most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")],
    name: Annotated[Name | None, Form(description="Default: the file's name")] = None,
    language: Annotated[str | None, Form(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")] = None,
) -> Any:
    data = await file.read(MAX_DOCUMENT_BYTES + 1)
    try:
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"document larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB", 413)
        if not data.strip():
            raise DocumentError("the document is empty")
        kind = detect_kind(data, file.filename or name or "", file.content_type)
    except DocumentError as exc:
        raise _rejected(exc) from None
    digest = hashlib.sha256(data).hexdigest()
    repo = DocumentRepository(session)
    existing = await repo.by_sha256(domain_uuid, digest)
    if existing is not None:
        raise ConflictError(f"this document was already uploaded as {existing.name!r} ({existing.voice_document_uuid})")
    row = await repo.create(
        domain_uuid,
        {
            "name": (name or (file.filename or "").strip()[:200] or f"document.{kind}"),
            "mime_type": MIME_OF[kind],
            "size_bytes": len(data),
            "sha256": digest,
            "content": data,
            "language": language or await tenant_language(session, domain_uuid),
            "status": "queued",
        },
    )
    await session.commit()  # the worker must see the row before the job
    await _enqueue(runtime, domain_uuid, row.voice_document_uuid)
    return row


@router.post(
    "/documents/{document_uuid}/reindex",
    response_model=DocumentPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Extract, chunk and embed the document again",
)
async def reindex(domain_uuid: TenantDep, document_uuid: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Any:
    repo = DocumentRepository(session)
    row = await repo.get(domain_uuid, document_uuid)
    if row is None:
        raise NotFoundError("Document")
    row = await repo.update(row, {"status": "queued", "error": None})
    await session.commit()
    await _enqueue(runtime, domain_uuid, document_uuid)
    return row


@router.post(
    "/documents/reembed",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Re-index every document (e.g. after the tenant's embeddings provider changed)",
)
async def reembed(domain_uuid: TenantDep, session: SessionDep, runtime: RuntimeDep) -> dict[str, int]:
    repo = DocumentRepository(session)
    rows = (await repo.list(domain_uuid, limit=100_000, offset=0)).items
    for row in rows:
        await repo.update(row, {"status": "queued", "error": None})
    await session.commit()
    for row in rows:
        await _enqueue(runtime, domain_uuid, row.voice_document_uuid)
    return {"queued": len(rows)}


class SearchBody(BaseModel):
    query: Question
    top_k: int = Field(default=4, ge=1, le=20)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


@router.post("/search", summary="What a call would retrieve from the tenant's documents for a question")
async def search(domain_uuid: TenantDep, session: SessionDep, runtime: RuntimeDep, body: SearchBody) -> dict[str, Any]:
    embedder = await runtime.embedder(domain_uuid, session)
    language = body.language or await tenant_language(session, domain_uuid)
    found = await retrieve(session, domain_uuid, body.query, embedder=embedder, language=language, top_k=body.top_k)
    return {
        "passages": [{"content": p.content, "document": p.source, "score": p.score} for p in found.passages],
        "vector_hits": found.vector_hits,
        "text_hits": found.text_hits,
    }
