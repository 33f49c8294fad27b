"""Webhooks (the seed's OmniPlay step, any URL per secretary): an outbox row per event — ``call.ended`` per call,
``message.created`` per message a caller left (:mod:`voice_ai.conversation.message_taking`) — delivered by the job
worker, signed, retried with exponential backoff until delivered or dead-lettered. ``X-VoiceAI-Event`` names the
event (the payload's ``event``). A ``mailto:`` delivery is a message's e-mail
(:mod:`voice_ai.services.message_email`), retried the same way.

Signature: ``X-VoiceAI-Signature: sha256=<hex>`` = HMAC-SHA256(secret, f"{timestamp}.".encode() + body), with
``X-VoiceAI-Timestamp`` (Unix seconds); receivers should reject timestamps more than 5 minutes old.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from voice_ai.db.models import Conversation, Message, Secretary
from voice_ai.db.repositories.entities import SecretaryRepository, WebhookDeliveryRepository
from voice_ai.services.message_email import SCHEME as MAILTO
from voice_ai.services.message_email import deliver_email

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
MAX_DELAY_S = 3600.0
TIMEOUT_S = 10.0
OVERDUE_BATCH = 200


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def payload(conversation: Conversation, secretary: Secretary | None, messages: list[Message]) -> dict[str, Any]:
    return {
        "event": "call.ended",
        "domain_uuid": str(conversation.domain_uuid),
        "conversation_uuid": str(conversation.voice_conversation_uuid),
        "call_uuid": conversation.call_uuid,
        "secretary": {"uuid": str(secretary.voice_secretary_uuid), "name": secretary.name} if secretary else None,
        "caller": {"number": conversation.caller_id_number, "name": conversation.caller_id_name},
        "started_at": conversation.started_at.isoformat() if conversation.started_at else None,
        "ended_at": conversation.ended_at.isoformat() if conversation.ended_at else None,
        "outcome": conversation.outcome,
        "transfer": (
            {
                "destination": conversation.transfer_destination,
                "context": conversation.transfer_context,
                "department": conversation.transfer_department,
            }
            if conversation.transfer_destination
            else None
        ),
        "summary": conversation.summary,
        "transcript": [
            {"turn": m.turn_index, "role": m.role, "text": m.text}
            for m in sorted(messages, key=lambda m: (m.turn_index, {"user": 0, "assistant": 1}.get(m.role, 2)))
            if m.role in ("user", "assistant")
        ],
    }


def backoff(attempts: int, base_s: float) -> float:
    return float(min(MAX_DELAY_S, base_s * 2 ** max(0, attempts - 1)))


async def deliver(runtime: Any, domain_uuid: uuid.UUID, delivery_uuid: uuid.UUID) -> None:
    """One attempt; schedules the next one (or dead-letters) on failure. No database connection is held while the
    receiver answers (up to ``TIMEOUT_S``): the row is read in one short session and the result written in
    another."""
    async with runtime.background_sessionmaker() as session:
        row = await WebhookDeliveryRepository(session).get(domain_uuid, delivery_uuid)
        if row is None or row.status != "pending":
            return
        url, attempts, event_payload = row.url, row.attempts, dict(row.payload)
        body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
        event = str(row.payload.get("event") or "call.ended")  # call.ended, message.created (issue 13)
        secretary_uuid = (row.payload.get("secretary") or {}).get("uuid")
        secretary = (
            await SecretaryRepository(session).get(domain_uuid, uuid.UUID(secretary_uuid)) if secretary_uuid else None
        )
        secret = runtime.secret_box.decrypt(secretary.webhook_secret) if secretary and secretary.webhook_secret else ""
    if url.startswith(MAILTO):  # a message's e-mail (issue 13: services/message_email.py), same retries
        status_code, error = None, await deliver_email(runtime, domain_uuid, url, event_payload)
    else:
        status_code, error = await _post(url, body, secret, delivery_uuid, event)
    attempts += 1
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
    delay = 0.0
    if error is None:
        values |= {"status": "delivered", "delivered_at": datetime.now(UTC), "next_attempt_at": None}
    elif attempts >= MAX_ATTEMPTS:
        values |= {"status": "dead", "next_attempt_at": None}
        logger.error("webhook %s to %s dead after %d attempts: %s", delivery_uuid, url, attempts, error)
    else:
        delay = backoff(attempts, runtime.settings.webhook_retry_base_s)
        values["next_attempt_at"] = datetime.now(UTC) + timedelta(seconds=delay)
    async with runtime.background_sessionmaker() as session, session.begin():
        repo = WebhookDeliveryRepository(session)
        row = await repo.get(domain_uuid, delivery_uuid, for_update=True)
        if row is None or row.status != "pending" or row.attempts != attempts - 1:
            return  # deleted, or another job attempted it meanwhile: its result stands
        await repo.update(row, values)
    if error is not None and attempts < MAX_ATTEMPTS:
        await runtime.jobs.webhook(domain_uuid, delivery_uuid, attempt=attempts, delay_s=delay)


async def _post(
    url: str, body: bytes, secret: str, delivery_uuid: uuid.UUID, event: str = "call.ended"
) -> tuple[int | None, str | None]:
    """POST the signed body: (status code, error or None for a 2xx)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "voice-ai-ivr-webhook",
        "X-VoiceAI-Event": event,
        "X-VoiceAI-Delivery": str(delivery_uuid),
        "X-VoiceAI-Timestamp": str(timestamp),
    }
    if secret:
        headers["X-VoiceAI-Signature"] = sign(secret, timestamp, body)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    return response.status_code, None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


async def queue_overdue(runtime: Any, older_than_s: float) -> int:
    """Queue again the deliveries still pending whose job was lost (its queueing failed after the row was stored,
    or it raised): untouched for ``older_than_s`` and not due later. One job per attempt: a job still queued for
    that attempt is not doubled. Returns how many were queued."""
    before = datetime.now(UTC) - timedelta(seconds=older_than_s)
    async with runtime.background_sessionmaker() as session:
        overdue = await WebhookDeliveryRepository(session).overdue(before, limit=OVERDUE_BATCH)
    for domain_uuid, delivery_uuid, attempts in overdue:
        await runtime.jobs.webhook(domain_uuid, delivery_uuid, attempt=attempts, delay_s=0)
    if overdue:
        logger.warning("queued %d webhook delivery(ies) whose job was lost", len(overdue))
    return len(overdue)
