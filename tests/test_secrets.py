"""Secrets at rest: encrypted in the row, masked in responses, kept when omitted, never logged."""

from __future__ import annotations

import io
import logging
import os
import stat
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from voice_ai.core.crypto import SecretBox, SecretKeyError, load_or_create_key_file, mask_secret
from voice_ai.core.logging import configure_logging, redact
from voice_ai.core.secret_fields import decrypt_config, encrypt_config, is_secret_name, mask_config, merge_config

NewDomain = Callable[..., Awaitable[str]]
API_KEY = "sk-proj-Zq8Xv2Lm9Tn4Rb7Wc1Yd"


async def _create_provider(client: httpx.AsyncClient, domain: str) -> dict[str, object]:
    response = await client.post(
        f"/api/v1/domains/{domain}/providers",
        json={
            "provider_type": "llm",
            "provider_name": "openai_compatible",
            "config": {"api_key": API_KEY, "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1"},
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_raw_row_holds_no_plaintext_and_response_is_masked(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection
) -> None:
    domain = await new_domain()
    body = await _create_provider(client, domain)
    config = body["config"]
    assert isinstance(config, dict)
    assert config["api_key"] == "sk-…" + API_KEY[-4:]
    assert config["model"] == "gpt-4o-mini"  # not a secret: shown as is

    raw = await db.fetchval(
        "SELECT config::text FROM v_voice_ai_providers WHERE voice_ai_provider_uuid = $1",
        uuid.UUID(str(body["voice_ai_provider_uuid"])),
    )
    assert API_KEY not in raw
    assert "enc:v1:" in raw
    listed = (await client.get(f"/api/v1/domains/{domain}/providers")).text
    assert API_KEY not in listed


async def test_update_keeps_omitted_or_echoed_secret_and_replaces_new_one(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection, runtime: object
) -> None:
    domain = await new_domain()
    body = await _create_provider(client, domain)
    url = f"/api/v1/domains/{domain}/providers/{body['voice_ai_provider_uuid']}"
    box: SecretBox = runtime.secret_box  # type: ignore[attr-defined]

    async def stored() -> dict[str, object]:
        import json

        raw = await db.fetchval(
            "SELECT config FROM v_voice_ai_providers WHERE voice_ai_provider_uuid = $1",
            uuid.UUID(str(body["voice_ai_provider_uuid"])),
        )
        return decrypt_config(json.loads(raw), box)

    # omitted secret: kept; other keys merged
    r = await client.patch(url, json={"config": {"model": "gpt-4.1"}})
    assert r.status_code == 200
    assert (await stored())["api_key"] == API_KEY and (await stored())["model"] == "gpt-4.1"
    # the mask sent back by a form: kept
    r = await client.patch(url, json={"config": {"api_key": r.json()["config"]["api_key"]}})
    assert (await stored())["api_key"] == API_KEY
    # a new value: replaced (and encrypted)
    r = await client.patch(url, json={"config": {"api_key": "sk-new-key-000000000099"}})
    assert (await stored())["api_key"] == "sk-new-key-000000000099"
    assert r.json()["config"]["api_key"] == "sk-…0099"
    # null removes it
    r = await client.patch(url, json={"config": {"api_key": None}})
    assert "api_key" not in (await stored())


async def test_webhook_secret_is_write_only(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection
) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/secretaries"
    secret = "whsec_9f8e7d6c5b4a39281706"
    sec = (
        await client.post(
            base, json={"name": "S", "webhook_url": "https://crm.example.com/hook", "webhook_secret": secret}
        )
    ).json()
    assert sec["webhook_secret"] == mask_secret(secret) and secret not in str(sec)
    raw = await db.fetchval(
        "SELECT webhook_secret FROM v_voice_secretaries WHERE voice_secretary_uuid = $1",
        uuid.UUID(sec["voice_secretary_uuid"]),
    )
    assert raw.startswith("enc:v1:") and secret not in raw
    url = f"{base}/{sec['voice_secretary_uuid']}"
    await client.patch(url, json={"greeting": "Oi", "webhook_secret": sec["webhook_secret"]})
    assert (
        await db.fetchval(
            "SELECT webhook_secret FROM v_voice_secretaries WHERE voice_secretary_uuid = $1",
            uuid.UUID(sec["voice_secretary_uuid"]),
        )
        == raw
    )


async def test_logs_never_contain_secrets(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    """Through the handler that configure_logging installs: a secret that does reach a log record
    (a message, a traceback, an SQL echo) is printed redacted."""
    configure_logging("INFO")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_voice_ai", False))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    engine_logger = logging.getLogger("sqlalchemy.engine")
    engine_logger.setLevel(logging.INFO)  # echo every SQL statement and its parameters
    try:
        domain = await new_domain()
        body = await _create_provider(client, domain)
        await client.patch(
            f"/api/v1/domains/{domain}/providers/{body['voice_ai_provider_uuid']}",
            json={"config": {"api_key": "sk-rotated-abcdefgh12345"}},
        )
        log = logging.getLogger("voice_ai.test")
        log.error("vendor said: invalid key %s", API_KEY)
        try:
            raise RuntimeError(f"401 for key sk-rotated-abcdefgh12345 at {API_KEY}")
        except RuntimeError:
            log.exception("provider failed")
        log.info("config %s", {"password": "hunter2-plaintext"})
    finally:
        engine_logger.setLevel(logging.WARNING)
        handler.setStream(previous)  # type: ignore[arg-type]
    text = buffer.getvalue()
    assert "INSERT INTO v_voice_ai_providers" in text  # the statements really were logged
    assert "vendor said: invalid key [REDACTED]" in text
    assert "RuntimeError: 401 for key [REDACTED]" in text  # the traceback too
    for secret in (API_KEY, "nested-secret-value-42", "sk-rotated-abcdefgh12345", "hunter2-plaintext"):
        assert secret not in text


def test_redaction_patterns() -> None:
    assert "abc.def" not in redact("Authorization: Bearer abc.def")
    assert "hunter22" not in redact('{"password": "hunter22"}')
    assert redact("nothing secret here") == "nothing secret here"


def test_secret_names() -> None:
    secret = (
        "api_key",
        "apiKey",
        "x-api-key",
        "api_keys",
        "token",
        "accessToken",
        "client_secret",
        "clientSecret",
        "secretAccessKey",
        "password",
        "passphrase",
        "Authorization",
        "key",
        "private_key",
        "credentials",
    )
    plain = ("model", "keywords", "base_url", "voice", "region", "auth_type", "monkey", "tokenizer", "max_tokens")
    assert [n for n in secret if not is_secret_name(n)] == []
    assert [n for n in plain if is_secret_name(n)] == []


def test_secrets_in_lists_headers_and_numbers_are_encrypted(runtime: object) -> None:
    box: SecretBox = runtime.secret_box  # type: ignore[attr-defined]
    config = {
        "fallbacks": [{"api_key": "sk-list-secret-000000001", "model": "m"}],
        "headers": {"Authorization": "Bearer sk-header-secret-02", "Accept": "application/json"},
        "api_key": 12345678901234567890,
        "clientSecret": "camel-secret-value-003",
    }
    stored = encrypt_config(config, box)
    text = str(stored)
    for plaintext in (
        "sk-list-secret-000000001",
        "sk-header-secret-02",
        "12345678901234567890",
        "camel-secret-value-003",
    ):
        assert plaintext not in text
    assert stored["fallbacks"][0]["model"] == "m" and stored["headers"]["Accept"] == "application/json"
    masked = str(mask_config(stored, box))
    assert "sk-list-secret-000000001" not in masked and "…" in masked
    assert decrypt_config(stored, box)["fallbacks"][0]["api_key"] == "sk-list-secret-000000001"


def test_client_supplied_ciphertext_is_not_trusted(runtime: object) -> None:
    box: SecretBox = runtime.secret_box  # type: ignore[attr-defined]
    planted = box.encrypt("someone-elses-key-000000")
    stored = encrypt_config({"api_key": planted}, box)
    # re-encrypted as an opaque string: decrypting gives back the ciphertext text, never the other key
    assert decrypt_config(stored, box)["api_key"] == planted
    merged = merge_config(stored, {"api_key": planted}, box)
    assert decrypt_config(merged, box)["api_key"] == planted


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret.key"
    key = load_or_create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key_file(path) == key  # stable across restarts
    box = SecretBox([key])
    assert box.decrypt(box.encrypt("value-123456")) == "value-123456"


def test_wrong_key_gives_an_actionable_error_and_rotation_works() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = SecretBox([old]).encrypt("sk-abcdefgh-123456")
    with pytest.raises(SecretKeyError, match="restore the original key"):
        SecretBox([new]).decrypt(stored)
    rotated = SecretBox.from_settings(f"{new},{old}", Path("/nonexistent"))
    assert rotated.decrypt(stored) == "sk-abcdefgh-123456"
    # a passphrase (not a Fernet key) is accepted and stretched
    passphrase = SecretBox.from_settings("correct horse battery staple", Path("/nonexistent"))
    assert passphrase.decrypt(passphrase.encrypt("x" * 10)) == "x" * 10


async def test_undecryptable_secret_is_shown_as_such_and_can_be_replaced(
    client: httpx.AsyncClient, new_domain: NewDomain, db: asyncpg.Connection
) -> None:
    domain = await new_domain()
    body = await _create_provider(client, domain)
    url = f"/api/v1/domains/{domain}/providers/{body['voice_ai_provider_uuid']}"
    foreign = SecretBox([Fernet.generate_key().decode()]).encrypt("sk-from-another-key-000000")
    await db.execute(
        "UPDATE v_voice_ai_providers SET config = jsonb_set(config, '{api_key}', to_jsonb($1::text)) "
        "WHERE voice_ai_provider_uuid = $2",
        foreign,
        uuid.UUID(str(body["voice_ai_provider_uuid"])),
    )
    shown = await client.get(url)
    assert shown.status_code == 200
    assert "enter this secret again" in shown.json()["config"]["api_key"]
    assert (await client.get(f"/api/v1/domains/{domain}/providers")).status_code == 200
    # echoing the marker keeps the (undecryptable) value; a new value replaces it
    kept = await client.patch(url, json={"config": {"api_key": shown.json()["config"]["api_key"]}})
    assert kept.status_code == 200
    replaced = await client.patch(url, json={"config": {"api_key": "sk-replacement-key-000042"}})
    assert replaced.status_code == 200 and replaced.json()["config"]["api_key"] == "sk-…0042"


async def test_a_vendor_that_repeats_the_key_never_gets_it_out(
    client: httpx.AsyncClient, new_domain: NewDomain, vendors: object, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake OpenAI answers a wrong key with "Incorrect API key provided: <key>. Header sent: Bearer <key>":
    neither the test endpoint, nor /chat (alone or through the chain), nor a log line may carry it."""
    leaky = "sk-proj-Leaky9f8e7d6c5b4a3f2e1d0c"
    domain = await new_domain()
    created = await client.post(
        f"/api/v1/domains/{domain}/providers",
        json={
            "provider_type": "llm",
            "provider_name": "openai",
            "is_default": True,
            "config": {"api_key": leaky, "base_url": f"{vendors.base_url}/v1", "max_retries": 0},  # type: ignore[attr-defined]
        },
    )
    assert created.status_code == 201, created.text
    provider = created.json()["voice_ai_provider_uuid"]
    with caplog.at_level(logging.INFO):
        tested = await client.post(f"/api/v1/domains/{domain}/providers/{provider}/test")
        alone = await client.post(
            f"/api/v1/domains/{domain}/chat",
            json={"messages": [{"role": "user", "content": "Oi"}], "provider_uuid": provider},
        )
        chained = await client.post(
            f"/api/v1/domains/{domain}/chat", json={"messages": [{"role": "user", "content": "Oi"}]}
        )
    assert tested.json()["ok"] is False and "Incorrect API key provided: [REDACTED]" in tested.json()["message"]
    assert alone.status_code == 502 and "Incorrect API key provided" in alone.text
    assert chained.status_code == 200 and chained.json()["provider"] == "policy"
    for text in (tested.text, alone.text, chained.text, caplog.text):
        assert leaky not in text and leaky[8:] not in text
    assert "authentication failed" in caplog.text  # the failure itself was logged


def test_redaction_of_key_shapes_nobody_registered() -> None:
    said = "Incorrect API key provided: Bearer sk-abcdefghijklmnop1234; invalid api key zz81726354ab, AIzaSyA1234567890abcdefghijkl"
    cleaned = redact(said)
    for secret in ("sk-abcdefghijklmnop1234", "zz81726354ab", "AIzaSyA1234567890abcdefghijkl"):
        assert secret not in cleaned
    assert redact("the API key is required; model gpt-4o-mini not found") == (
        "the API key is required; model gpt-4o-mini not found"
    )
    assert redact("vendor: key secret-value-123 refused", ["secret-value-123"]) == "vendor: key [REDACTED] refused"


def test_redaction_of_passwords_in_urls() -> None:
    """Driver errors repeat the database URL: its password never leaves the service."""
    cleaned = redact("connection refused: postgresql://voice:s3cret-pass@db.internal:5432/voice_ai")
    assert "s3cret-pass" not in cleaned and "postgresql://voice:[REDACTED]@db.internal:5432" in cleaned
    assert redact("see http://example.com:8080/a@b and ws://127.0.0.1:8100/x") == (
        "see http://example.com:8080/a@b and ws://127.0.0.1:8100/x"
    )
