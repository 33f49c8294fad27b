"""Exposure: loopback by default, a token required for anything else, bearer checked on every request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from helpers import cli_env, run_cli
from voice_ai.core.security import UnsafeBindError, check_bind, is_loopback
from voice_ai.main import create_app
from voice_ai.runtime import Runtime

TOKEN = "test-token-5f0c2b7e9a1d4c3b8e6f"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "pbx.example.com"])
def test_other_hosts_need_a_token(host: str) -> None:
    with pytest.raises(UnsafeBindError, match="VOICE_AI_API_TOKEN"):
        check_bind(host, None)
    check_bind(host, TOKEN)


def test_short_tokens_do_not_protect_a_public_bind() -> None:
    with pytest.raises(UnsafeBindError, match="too short"):
        check_bind("0.0.0.0", "short")
    check_bind("127.0.0.1", "short")  # loopback: any token is the operator's choice


def test_token_from_env_is_stripped() -> None:
    from voice_ai.core.config import Settings

    settings = Settings(api_token=f"  {TOKEN}\n", _env_file=None)  # type: ignore[call-arg]
    assert settings.api_token is not None and settings.api_token.get_secret_value() == TOKEN


def test_cli_refuses_to_bind_publicly_without_token(tmp_path: object) -> None:
    result = run_cli(
        "serve", "--host", "0.0.0.0", "--port", "1", env=cli_env(VOICE_AI_DATA_DIR=str(tmp_path)), timeout=60
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr
    assert "VOICE_AI_API_TOKEN" in result.stderr


@pytest.fixture
async def token_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    settings = runtime.settings.model_copy(update={"api_token": __import__("pydantic").SecretStr(TOKEN)})
    app = create_app(settings, runtime=runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


async def test_bearer_token_required_except_health(token_client: httpx.AsyncClient) -> None:
    assert (await token_client.get("/health")).status_code == 200
    for path in ("/ready", "/api/v1/domains", "/docs", "/openapi.json"):
        missing = await token_client.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await token_client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = await token_client.get(path, headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
    ok = await token_client.get("/api/v1/domains", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert "Bearer <VOICE_AI_API_TOKEN>" in (await token_client.get("/api/v1/domains")).json()["detail"]


async def test_websockets_need_the_token_too() -> None:
    from voice_ai.core.security import BearerTokenMiddleware

    reached: list[str] = []

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        reached.append(str(scope["type"]))

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    middleware = BearerTokenMiddleware(inner, TOKEN)  # type: ignore[arg-type]
    await middleware({"type": "websocket", "path": "/stream", "headers": []}, None, send)  # type: ignore[arg-type]
    assert reached == [] and sent == [
        {"type": "websocket.close", "code": 1008, "reason": "missing or invalid bearer token"}
    ]
    headers = [(b"authorization", f"Bearer {TOKEN}".encode())]
    await middleware({"type": "websocket", "path": "/stream", "headers": headers}, None, send)  # type: ignore[arg-type]
    assert reached == ["websocket"]
