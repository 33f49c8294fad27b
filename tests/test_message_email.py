"""Messages by e-mail (issue 13) to a local SMTP server (aiosmtpd): standalone through the tenant's SMTP settings
(password encrypted, never returned), in FusionPBX mode through FusionPBX's e-mail settings (Default Settings
overridden by the domain's), retried like a webhook when the server refuses."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import test_message_taking
from helpers import free_port
from voice_ai.runtime import Runtime
from voice_ai.services.message_email import Smtp, compose, deliver_email

tenant = test_message_taking.tenant  # the seeded demo tenant, with a webhook receiver (fixtures)
receiver = test_message_taking.receiver
SMTP_PASSWORD = "smtp-Pa55word-0123456789"


@dataclass
class Mailbox:
    port: int
    received: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 try again later"
        self.received.append((envelope, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password.decode() == SMTP_PASSWORD)
        return AuthResult(success=False)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


async def _until(check: Any, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def _leave_message(client: httpx.AsyncClient, tenant: dict[str, str], call: str) -> None:
    await test_message_taking._start(client, tenant, call)
    for text in ("Quero deixar um recado", "Marta Reis", "sim", "Preciso do contrato assinado até sexta", "Correto"):
        await test_message_taking._say(client, tenant, call, text)


async def test_a_message_by_email_through_the_tenants_smtp_settings(
    client: httpx.AsyncClient, tenant: dict[str, str], mailbox: Mailbox, receiver: Any, db: Any
) -> None:
    base = f"/api/v1/domains/{tenant['domain']}"
    assert (await client.get(f"{base}/email-settings")).status_code == 404
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_secure": "none",
        "smtp_username": "recepcao",
        "smtp_password": SMTP_PASSWORD,
        "smtp_from": "secretaria@example.com",
        "smtp_from_name": "Secretária Virtual",
    }
    put = await client.put(f"{base}/email-settings", json=settings)
    assert put.status_code == 200, put.text
    shown = put.json()
    assert shown["source"] == "service" and shown["smtp_password"] != SMTP_PASSWORD and "…" in shown["smtp_password"]
    stored = await db.fetchval("SELECT smtp_password FROM v_voice_ai_email_settings")
    assert SMTP_PASSWORD not in stored  # encrypted at rest
    again = await client.put(f"{base}/email-settings", json=settings | {"smtp_password": shown["smtp_password"]})
    assert again.status_code == 200 and again.json()["smtp_password"] == shown["smtp_password"]  # the mask keeps it
    bad = await client.put(f"{base}/email-settings", json=settings | {"smtp_from": "x\r\nBcc: a@b.c"})
    assert bad.status_code == 422

    secretary = f"{base}/secretaries/{tenant['secretary']}"
    refused = await client.patch(secretary, json={"message_email": "recepcao@example.com\r\nBcc: spy@example.com"})
    assert refused.status_code == 422
    patched = await client.patch(secretary, json={"message_email": "recepcao@example.com, carlos@example.com"})
    assert patched.status_code == 200 and patched.json()["message_email"] == "recepcao@example.com, carlos@example.com"

    call = f"call-{uuid.uuid4()}"
    await _leave_message(client, tenant, call)

    async def received() -> bool:
        return bool(mailbox.received)

    await _until(received)
    envelope, mail = mailbox.received[0]
    assert sorted(envelope.rcpt_tos) == ["carlos@example.com", "recepcao@example.com"]
    assert envelope.mail_from == "secretaria@example.com" and mailbox.logins == [("recepcao", SMTP_PASSWORD)]
    assert mail["Subject"] == "Recado de Marta Reis" and "Secretária Virtual" in str(mail["From"])
    text = mail.get_content()
    assert "Marta Reis" in text and "554133334444" in text and "Preciso do contrato assinado até sexta" in text

    # the e-mail is a delivery like the webhook: listed with the call's, delivered
    conversation = (await client.get(f"{base}/conversations")).json()["items"][0]["voice_conversation_uuid"]

    async def delivered() -> bool:
        rows = (await client.get(f"{base}/conversations/{conversation}/webhooks")).json()["items"]
        return any(r["url"].startswith("mailto:") and r["status"] == "delivered" for r in rows)

    await _until(delivered)
    rows = (await client.get(f"{base}/conversations/{conversation}/webhooks")).json()["items"]
    assert sorted(r["url"] for r in rows) == sorted(["mailto:recepcao@example.com,carlos@example.com", receiver.url])
    assert (await client.delete(f"{base}/email-settings")).status_code == 204


FUSIONPBX_SETTINGS = """
CREATE TABLE IF NOT EXISTS v_default_settings (
    default_setting_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), app_uuid uuid, default_setting_category text,
    default_setting_subcategory text, default_setting_name text, default_setting_value text,
    default_setting_order numeric, default_setting_enabled boolean, default_setting_description text);
CREATE TABLE IF NOT EXISTS v_domain_settings (
    domain_setting_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), domain_uuid uuid, app_uuid uuid,
    domain_setting_category text, domain_setting_subcategory text, domain_setting_name text,
    domain_setting_value text, domain_setting_order numeric, domain_setting_enabled text,
    domain_setting_description text);
"""


async def test_fusionpbx_mode_uses_fusionpbxs_email_settings(
    client: httpx.AsyncClient, tenant: dict[str, str], mailbox: Mailbox, runtime: Runtime, db: Any
) -> None:
    domain, other = uuid.UUID(tenant["domain"]), uuid.uuid4()
    await db.execute(FUSIONPBX_SETTINGS)
    try:
        defaults = [
            ("smtp_host", "smtp.wrong.invalid", True),
            ("smtp_port", "25", True),
            ("smtp_secure", "none", True),
            ("smtp_auth", "true", True),
            ("smtp_username", "recepcao", True),
            ("smtp_password", SMTP_PASSWORD, True),
            ("smtp_from", "pbx@example.com", True),
            ("smtp_from_name", "old name", False),  # disabled: not used
        ]
        for name, value, enabled in defaults:
            await db.execute(
                "INSERT INTO v_default_settings (default_setting_category, default_setting_subcategory,"
                " default_setting_name, default_setting_value, default_setting_enabled) VALUES ('email', $1, 'text', $2, $3)",
                name,
                value,
                enabled,
            )
        # the domain's own settings override the defaults (FusionPBX stores *_enabled as text here)
        for owner, name, value in ((domain, "smtp_host", "127.0.0.1"), (domain, "smtp_port", str(mailbox.port))):
            await db.execute(
                "INSERT INTO v_domain_settings (domain_uuid, domain_setting_category, domain_setting_subcategory,"
                " domain_setting_name, domain_setting_value, domain_setting_enabled) VALUES ($1, 'email', $2, 'text', $3, 'true')",
                owner,
                name,
                value,
            )
        await db.execute(
            "INSERT INTO v_domain_settings (domain_uuid, domain_setting_category, domain_setting_subcategory,"
            " domain_setting_name, domain_setting_value, domain_setting_enabled) VALUES ($1, 'email', 'smtp_host', 'text', 'other.invalid', 'true')",
            other,
        )
        assert runtime.standalone
        runtime.standalone = False
        base = f"/api/v1/domains/{tenant['domain']}/email-settings"
        shown = (await client.get(base)).json()
        assert shown | {"smtp_password": None} == {
            "source": "fusionpbx",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_secure": "none",
            "smtp_username": "recepcao",
            "smtp_password": None,
            "smtp_from": "pbx@example.com",
            "smtp_from_name": None,
        }
        assert shown["smtp_password"] and SMTP_PASSWORD not in shown["smtp_password"]
        assert (await client.put(base, json={"smtp_host": "x", "smtp_from": "a@b.co"})).status_code == 409

        event = {
            "event": "message.created",
            "secretary": {"name": "Recepção"},
            "caller": {"number": "1000"},
            "message": {"caller_name": "Rui", "callback_number": "1000", "body": "Ligar de volta", "language": "en"},
        }
        assert await deliver_email(runtime, domain, "mailto:ops@example.com", event) is None
        envelope, mail = mailbox.received[0]
        assert envelope.rcpt_tos == ["ops@example.com"] and envelope.mail_from == "pbx@example.com"
        assert mail["Subject"] == "Message from Rui" and mailbox.logins == [("recepcao", SMTP_PASSWORD)]
        mailbox.refuse = True  # a refusal is an error the outbox retries
        assert await deliver_email(runtime, domain, "mailto:ops@example.com", event) == "SMTP 451"
    finally:
        runtime.standalone = True
        await db.execute("DROP TABLE IF EXISTS v_default_settings, v_domain_settings")
    # standalone without settings: an error the outbox keeps retrying until somebody sets them
    assert await deliver_email(runtime, domain, "mailto:ops@example.com", {}) == "no SMTP settings for this tenant"


@pytest.mark.parametrize(
    "name", ["Ana\u2028Bcc: spy@example.com", "Ana\x85Lima", "Ana\x00\u200b Lima\r\n", "\u2028\x85"]
)
def test_header_text_from_the_caller_never_breaks_the_email(name: str) -> None:
    """A caller's name with a line/paragraph separator or a control character (what speech recognition or a typed
    turn may carry) is one clean header line: the e-mail is sent, not dead-lettered, and no header is smuggled in."""
    smtp = Smtp("127.0.0.1", 25, "none", None, None, "secretaria@example.com", "Recepção\u2028X-Evil: 1")
    event = {"message": {"caller_name": name, "body": "Ligar amanhã", "language": "pt-BR"}, "caller": {}}
    mail = compose(smtp, ["recepcao@example.com"], event)
    sent = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    subject = str(sent["Subject"])
    assert subject.startswith("Recado de ") and "\n" not in subject and "\u2028" not in subject
    assert sent["Bcc"] is None and sent["X-Evil"] is None
    assert all(c.isprintable() for c in subject) and "  " not in subject
    assert subject in ("Recado de Ana Bcc: spy@example.com", "Recado de Ana Lima", "Recado de quem ligou")
