"""HTTP and WebSocket routes of the browser console, and the page's assets (shipped in this package)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from voice_ai.api.deps import RuntimeDep, SessionDep, TenantDep
from voice_ai.api.responses import errors
from voice_ai.core.errors import NotFoundError
from voice_ai.db.repositories.entities import SecretaryRepository
from voice_ai.schemas.console import ConsoleToken, ConsoleTokenCreate
from voice_ai.streaming.console.session import console_socket, console_tokens
from voice_ai.streaming.console.tokens import InvalidConsoleToken

PAGE_PATH = "/console"
ASSETS_PATH = "/console/assets"
SOCKET_PATH = "/api/v1/stream/console"
# the paths a browser reaches with a console token instead of the API key (see core.security)
PUBLIC_PATHS = (PAGE_PATH, ASSETS_PATH + "/", SOCKET_PATH)

# Only this origin's scripts, styles and sockets; the token in the URL never leaves in a Referer header.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter()


def _static() -> resources.abc.Traversable:
    return resources.files("voice_ai.streaming.console") / "static"


@router.post(
    "/api/v1/domains/{domain_uuid}/secretaries/{secretary_uuid}/console-token",
    tags=["secretaries"],
    summary="A short-lived token that opens this secretary's browser console (and nothing else)",
    status_code=201,
    responses=errors(404),
)
async def create_console_token(
    domain_uuid: TenantDep,
    secretary_uuid: Annotated[uuid.UUID, Path()],
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
    body: Annotated[ConsoleTokenCreate | None, Body()] = None,
) -> ConsoleToken:
    if await SecretaryRepository(session).get(domain_uuid, secretary_uuid) is None:
        raise NotFoundError("Secretary")
    ttl_s = (body or ConsoleTokenCreate()).ttl_s
    token, grant = console_tokens(request.app.state, runtime).mint(domain_uuid, secretary_uuid, ttl_s)
    return ConsoleToken(
        token=token,
        expires_at=datetime.fromtimestamp(grant.expires_at, UTC),
        console_path=f"{PAGE_PATH}?token={quote(token)}",
    )


@router.get(PAGE_PATH, include_in_schema=False)
async def console_page(request: Request, runtime: RuntimeDep) -> Response:
    try:
        console_tokens(request.app.state, runtime).verify(request.query_params.get("token"))
    except InvalidConsoleToken as error:
        html = (_static() / "denied.html").read_text("utf-8").replace("{{message}}", _escape(str(error)))
        return HTMLResponse(html, status_code=401, headers=PAGE_HEADERS)
    return HTMLResponse((_static() / "console.html").read_text("utf-8"), headers=PAGE_HEADERS)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


router.add_api_websocket_route(SOCKET_PATH, console_socket)


def install(app: FastAPI) -> None:
    """The console's routes and its assets (JS, CSS, the AudioWorklet) under /console/assets."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(packages=[("voice_ai.streaming.console", "static")]), name="console-assets")
