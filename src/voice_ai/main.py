"""The FastAPI application. ``create_app(settings)`` builds everything; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from voice_ai import __version__
from voice_ai.api import docs
from voice_ai.api.limits import TurnUploadLimit
from voice_ai.api.responses import errors
from voice_ai.api.routes import (
    caller_messages,
    calls,
    conversations,
    documents,
    domains,
    email_settings,
    health,
    providers_runtime,
    resources,
)
from voice_ai.api.routes import tools as tool_routes
from voice_ai.api.routes.time_conditions import router as time_conditions_router  # opening hours (issue 13)
from voice_ai.core.config import Settings, get_settings
from voice_ai.core.errors import install_error_handlers
from voice_ai.core.security import BearerTokenMiddleware
from voice_ai.core.unavailable import install_unavailable_handlers
from voice_ai.runtime import Runtime
from voice_ai.streaming.console import routes as console
from voice_ai.streaming.freeswitch import route as freeswitch_stream
from voice_ai.streaming.freeswitch.glue import freeswitch_streaming


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. ``runtime`` lets a caller that already started the database (the CLI, tests)
    share it; otherwise the lifespan starts and stops one from ``settings``."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            async with freeswitch_streaming(app, settings):
                yield
            return
        async with Runtime(settings) as own:
            app.state.runtime = own
            async with freeswitch_streaming(app, settings):
                yield

    app = FastAPI(
        title="Voice AI IVR",
        version=__version__,
        description="AI virtual secretary for FreeSWITCH/FusionPBX. Every tenant route is under "
        "/api/v1/domains/{domain_uuid}; another tenant's object is a 404.",
        lifespan=lifespan,
        responses=errors(400, 422, 503),  # every route parses its input and may find the database unavailable
        docs_url=None,  # /docs and /redoc are served offline (api/docs.py)
        redoc_url=None,
    )
    install_error_handlers(app)
    install_unavailable_handlers(app)
    app.add_middleware(TurnUploadLimit)
    app.include_router(health.router)
    app.include_router(domains.router)
    app.include_router(calls.router, responses=errors(404, 409))
    app.include_router(documents.router)  # before the CRUD routes: /documents/upload is not an id
    for router in resources.routers:
        app.include_router(router)
    app.include_router(tool_routes.router)  # the tenant's HTTP tools (docs/tools.md)
    app.include_router(tool_routes.testing)
    app.include_router(conversations.router)
    app.include_router(time_conditions_router)  # opening hours, FusionPBX mode
    app.include_router(caller_messages.router)  # issue 13
    app.include_router(email_settings.router)  # issue 13
    app.include_router(providers_runtime.catalogue)
    app.include_router(providers_runtime.router)
    console.install(app)  # the browser console: /console, its assets and its WebSocket (a console token each)
    docs.install(app)
    app.include_router(freeswitch_stream.router)  # mod_audio_stream's WebSocket (a one-time token each)
    if settings.api_token is not None:
        app.add_middleware(
            BearerTokenMiddleware,
            token=settings.api_token.get_secret_value(),
            public=(*console.PUBLIC_PATHS, *freeswitch_stream.PUBLIC_PATHS),
        )
    return app
