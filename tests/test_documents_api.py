"""Document upload over HTTP, background indexing through the PostgreSQL job queue, search, re-index, and
jobs that survive a restart."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from conftest import make_settings
from helpers import make_docx, make_hostile_docx, make_pdf
from voice_ai.demo.seed import document_paths
from voice_ai.runtime import Runtime


async def _wait(client: httpx.AsyncClient, domain: str, document: str, seconds: float = 60) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        body: dict[str, Any] = (await client.get(f"/api/v1/domains/{domain}/documents/{document}")).json()
        if body["status"] in ("ready", "failed"):
            return body
        assert asyncio.get_running_loop().time() < deadline, f"still {body['status']}"
        await asyncio.sleep(0.1)


async def _upload(
    client: httpx.AsyncClient, domain: str, name: str, data: bytes, mime: str = "application/octet-stream"
) -> httpx.Response:
    return await client.post(f"/api/v1/domains/{domain}/documents/upload", files={"file": (name, data, mime)})


async def test_upload_is_indexed_in_the_background_and_searchable(client: httpx.AsyncClient, new_domain: Any) -> None:
    domain = await new_domain()
    for path in document_paths():
        accepted = await _upload(client, domain, path.name, path.read_bytes(), "text/markdown")
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["status"] == "queued" and accepted.json()["mime_type"] == "text/markdown"
        ready = await _wait(client, domain, accepted.json()["voice_document_uuid"])
        assert ready["status"] == "ready" and ready["chunk_count"] > 0 and ready["error"] is None
        assert ready["progress"] == 100
    pdf = await _upload(
        client, domain, "estacionamento.pdf", make_pdf(["Estacionamento", "Garagem Central, 1 hora gratis."])
    )
    docx = await _upload(
        client, domain, "pix.docx", make_docx([("Heading 1", "Pagamento"), ("Normal", "Aceitamos Pix.")])
    )
    for response in (pdf, docx):
        assert (await _wait(client, domain, response.json()["voice_document_uuid"]))["status"] == "ready"
    found = (await client.post(f"/api/v1/domains/{domain}/search", json={"query": "Onde fica o escritório?"})).json()
    assert any("Marechal Deodoro" in p["content"] for p in found["passages"])
    assert found["vector_hits"] > 0
    gratis = (
        await client.post(f"/api/v1/domains/{domain}/search", json={"query": "tem estacionamento gratis?"})
    ).json()
    assert gratis["passages"][0]["document"] == "estacionamento.pdf"


async def test_bad_and_duplicate_uploads(client: httpx.AsyncClient, new_domain: Any) -> None:
    domain = await new_domain()
    first = await _upload(client, domain, "a.txt", "Horário: 8h às 18h".encode())
    assert first.status_code == 202
    duplicate = await _upload(client, domain, "copy.txt", "Horário: 8h às 18h".encode())
    assert duplicate.status_code == 409 and first.json()["voice_document_uuid"] in duplicate.json()["detail"]
    image = await _upload(client, domain, "photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")
    assert image.status_code == 415 and "PDF, DOCX, HTML" in image.json()["detail"]
    empty = await _upload(client, domain, "empty.txt", b"   ")
    assert empty.status_code == 422 and "empty" in empty.json()["message"]
    assert empty.json()["detail"][0]["loc"] == ["body", "file"]
    noise = bytes(__import__("random").Random(17).randrange(256) for _ in range(100 * 1024))
    binary = await _upload(client, domain, "notes.txt", noise, "text/plain")
    assert binary.status_code == 422 and "the file is not text" in binary.json()["message"], binary.text
    assert (await client.get(f"/api/v1/domains/{domain}/documents")).json()["total"] == 1  # nothing stored
    broken = await _upload(client, domain, "scan.pdf", b"%PDF-1.4 nothing here")
    failed = await _wait(client, domain, broken.json()["voice_document_uuid"])
    assert failed["status"] == "failed" and "PDF" in failed["error"]
    other = await new_domain()
    assert (
        await client.post(f"/api/v1/domains/{other}/documents/{first.json()['voice_document_uuid']}/reindex")
    ).status_code == 404


async def test_a_hostile_docx_does_not_stall_the_service(client: httpx.AsyncClient, new_domain: Any) -> None:
    """300,000 paragraphs in 70 KB used to hold the event loop for ~5 minutes: /health keeps answering while the
    indexing worker process deals with it, and the document ends failed with a reason a person can act on."""
    domain = await new_domain()
    hostile = make_hostile_docx()
    assert len(hostile) < 200_000
    accepted = await _upload(client, domain, "hostil.docx", hostile)
    assert accepted.status_code == 202, accepted.text
    document = accepted.json()["voice_document_uuid"]
    loop = asyncio.get_running_loop()
    slowest, polls, deadline = 0.0, 0, loop.time() + 180
    while True:
        started = loop.time()
        assert (await client.get("/health")).status_code == 200
        slowest, polls = max(slowest, loop.time() - started), polls + 1
        body = (await client.get(f"/api/v1/domains/{domain}/documents/{document}")).json()
        if body["status"] == "failed":
            break
        assert body["status"] != "ready" and loop.time() < deadline, body
        await asyncio.sleep(0.05)
    assert polls >= 3 and slowest < 5.0, f"/health took up to {slowest:.1f} s over {polls} polls"
    assert body["error"] == ("the DOCX has 300,000 paragraphs, more than the 50,000 a document may have; split it"), (
        body["error"]
    )


async def test_reindex_and_reembed(client: httpx.AsyncClient, new_domain: Any, db: Any) -> None:
    domain = await new_domain()
    doc = (await _upload(client, domain, "a.md", b"## Pix\n\nAceitamos Pix.")).json()["voice_document_uuid"]
    await _wait(client, domain, doc)
    await db.execute("DELETE FROM v_voice_document_chunks WHERE voice_document_uuid = $1", uuid.UUID(doc))
    again = await client.post(f"/api/v1/domains/{domain}/documents/{doc}/reindex")
    assert again.status_code == 202
    assert (await _wait(client, domain, doc))["chunk_count"] == 1
    assert (
        await db.fetchval("SELECT count(*) FROM v_voice_document_chunks WHERE voice_document_uuid = $1", uuid.UUID(doc))
        == 1
    )
    everything = await client.post(f"/api/v1/domains/{domain}/documents/reembed")
    assert everything.json() == {"queued": 1}
    assert (await _wait(client, domain, doc))["status"] == "ready"


async def test_jobs_survive_a_restart(fresh_database: Any, tmp_path: Path) -> None:
    """Queued while no worker runs (the service was down): a worker started later indexes it."""
    url = await fresh_database()
    producer = Runtime(make_settings(tmp_path, url, worker=False))
    await producer.start()
    app_domain = uuid.uuid4()
    try:
        async with producer.sessionmaker() as session, session.begin():
            from sqlalchemy import text

            await session.execute(
                text("INSERT INTO v_domains (domain_uuid, domain_name) VALUES (:d, 'restart.example.com')"),
                {"d": app_domain},
            )
        from voice_ai.main import create_app

        app = create_app(producer.settings, runtime=producer)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        ):
            accepted = await _upload(http, str(app_domain), "pix.md", b"## Pix\n\nAceitamos Pix.")
            document = accepted.json()["voice_document_uuid"]
            await asyncio.sleep(1)
            assert (await http.get(f"/api/v1/domains/{app_domain}/documents/{document}")).json()["status"] == "queued"
    finally:
        await producer.stop()
    consumer = Runtime(make_settings(tmp_path, url, worker=True))
    await consumer.start()
    try:
        app = create_app(consumer.settings, runtime=consumer)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        ):
            assert (await _wait(http, str(app_domain), document))["status"] == "ready"
    finally:
        await consumer.stop()
