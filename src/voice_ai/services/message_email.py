"""Messages callers leave, by e-mail (issue 13) through the tenant's SMTP server.

A message's e-mail is a delivery in the webhook outbox (:mod:`voice_ai.services.webhooks`) whose URL is
``mailto:<addresses>`` (the secretary's ``message_email``): it is retried with the same backoff, dead-lettered after
the same number of attempts, and listed with the call's webhooks. The SMTP server is, standalone, the tenant's
settings stored here (``v_voice_ai_email_settings``, the password encrypted; API ``…/email-settings``) and, in
FusionPBX mode, FusionPBX's own e-mail settings (Default Settings of category ``email``, overridden by the domain's
Domain Settings: ``smtp_host``, ``smtp_port``, ``smtp_secure`` none/tls/ssl, ``smtp_auth``, ``smtp_username``,
``smtp_password``, ``smtp_from``, ``smtp_from_name``), read at each attempt.

The message is sent with the standard library's ``smtplib`` in a worker thread, bounded by ``TIMEOUT_S``; no
database connection is held meanwhile.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import unicodedata
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from voice_ai.db.repositories.email_settings import EmailSettingsRepository

SCHEME = "mailto:"
TIMEOUT_S = 20.0
DEFAULT_PORTS = {"ssl": 465, "tls": 587, "none": 25}


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    secure: str  # none | tls (STARTTLS) | ssl
    username: str | None
    password: str | None
    sender: str
    sender_name: str | None


def from_fusionpbx(found: dict[str, str]) -> Smtp | None:
    """FusionPBX's settings as its own mailer reads them (``smtp_auth`` false: no login; ``smtp_secure`` empty or
    none: plain; port 0 or absent: the secure mode's usual port)."""
    host, sender = found.get("smtp_host", "").strip(), found.get("smtp_from", "").strip()
    if not host or not sender:
        return None
    secure = found.get("smtp_secure", "").strip().lower()
    secure = secure if secure in ("tls", "ssl") else "none"
    port = found.get("smtp_port", "").strip()
    login = found.get("smtp_auth", "").strip().lower() == "true"
    return Smtp(
        host,
        int(port) if port.isdigit() and int(port) > 0 else DEFAULT_PORTS[secure],
        secure,
        found.get("smtp_username") or None if login else None,
        found.get("smtp_password") or None if login else None,
        sender,
        found.get("smtp_from_name") or None,
    )


async def smtp_for(runtime: Any, session: Any, domain_uuid: uuid.UUID) -> Smtp | None:
    """The tenant's SMTP server, or None when it has none."""
    repo = EmailSettingsRepository(session)
    if not runtime.standalone:
        return from_fusionpbx(await repo.fusionpbx(domain_uuid))
    row = await repo.get(domain_uuid)
    if row is None:
        return None
    password = runtime.secret_box.decrypt(row.smtp_password) if row.smtp_password else None
    return Smtp(
        row.smtp_host, row.smtp_port, row.smtp_secure, row.smtp_username, password, row.smtp_from, row.smtp_from_name
    )


TEXTS = {
    "pt": {
        "subject": "Recado de {name}",
        "intro": "{name} deixou um recado com a secretária virtual{secretary}.",
        "name": "Nome",
        "callback": "Retornar para",
        "caller_id": "Número que ligou",
        "message": "Recado",
        "when": "Recebido em",
        "unconfirmed": "A pessoa desligou antes de confirmar o recado lido de volta.",
        "unknown": "quem ligou",
    },
    "en": {
        "subject": "Message from {name}",
        "intro": "{name} left a message with the virtual secretary{secretary}.",
        "name": "Name",
        "callback": "Call back at",
        "caller_id": "Caller ID",
        "message": "Message",
        "when": "Received at",
        "unconfirmed": "The caller hung up before confirming the message read back.",
        "unknown": "a caller",
    },
}


def header_text(text: str) -> str:
    """Text for a header line from what a caller (or a tenant) typed or said: control and format characters dropped
    (``\x00``, ``\x85``, ``\u200b``…), every run of whitespace — line and paragraph separators (``\u2028``) included —
    one space. The standard library refuses a header with a line break in it; the message would be dead-lettered."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join("".join(c for c in kept if unicodedata.category(c) not in ("Cf", "Co", "Cs", "Cn")).split())


def compose(smtp: Smtp, recipients: list[str], event: dict[str, Any]) -> EmailMessage:
    """The e-mail of a ``message.created`` event (plain text, in the message's language)."""
    message = event.get("message") or {}
    language = str(message.get("language") or "pt")
    say = TEXTS["en" if language.lower().startswith("en") else "pt"]
    name = header_text(str(message.get("caller_name") or "")) or say["unknown"]
    secretary = (event.get("secretary") or {}).get("name")
    caller = event.get("caller") or {}
    lines = [
        say["intro"].format(name=name, secretary=f" ({secretary})" if secretary else ""),
        "",
        f"{say['name']}: {name}",
        f"{say['callback']}: {message.get('callback_number') or '-'}",
        f"{say['caller_id']}: {caller.get('number') or '-'}",
        f"{say['when']}: {message.get('taken_at') or '-'}",
        "",
        f"{say['message']}:",
        str(message.get("body") or ""),
    ]
    if message.get("confirmed") is False:
        lines += ["", say["unconfirmed"]]
    mail = EmailMessage()
    mail["Subject"] = header_text(say["subject"].format(name=name))
    mail["From"] = formataddr((header_text(smtp.sender_name or ""), smtp.sender))
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    mail.set_content("\n".join(lines) + "\n")
    return mail


def _send_now(smtp: Smtp, mail: EmailMessage) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT_S, context=context)
        if smtp.secure == "ssl"
        else smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_S)
    )
    with client:
        if smtp.secure == "tls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(mail)


async def deliver_email(runtime: Any, domain_uuid: uuid.UUID, url: str, event: dict[str, Any]) -> str | None:
    """Send the event's e-mail to the addresses of ``url`` (``mailto:a@x,b@y``): None when the server accepted it,
    else the error (no SMTP settings, the server refused, a timeout), for the outbox to retry."""
    recipients = [a.strip() for a in url.removeprefix(SCHEME).split(",") if a.strip()]
    async with runtime.background_sessionmaker() as session:
        smtp = await smtp_for(runtime, session, domain_uuid)
    if smtp is None:
        return "no SMTP settings for this tenant"
    if not recipients:
        return "no recipients"
    try:
        await asyncio.wait_for(asyncio.to_thread(_send_now, smtp, compose(smtp, recipients, event)), TIMEOUT_S * 2)
    except (smtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
        code = getattr(exc, "smtp_code", None)
        return f"SMTP {code}" if code else type(exc).__name__
    return None
