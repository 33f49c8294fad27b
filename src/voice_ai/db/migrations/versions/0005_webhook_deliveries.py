"""Webhook outbox: one row per call-end notification, with its attempts (visible through the API).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE v_voice_ai_webhook_deliveries (
            voice_ai_webhook_delivery_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            voice_conversation_uuid uuid NOT NULL,
            url text NOT NULL,
            payload jsonb NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            attempts integer NOT NULL DEFAULT 0,
            last_status_code integer,
            last_error text,
            next_attempt_at timestamptz,
            delivered_at timestamptz,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_voice_ai_webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'dead')),
            CONSTRAINT fk_voice_ai_webhook_deliveries_conversation FOREIGN KEY (domain_uuid, voice_conversation_uuid)
                REFERENCES v_voice_conversations (domain_uuid, voice_conversation_uuid) ON DELETE CASCADE
        )"""
    )
    op.execute(
        "CREATE INDEX ix_voice_ai_webhook_deliveries_domain_conversation"
        " ON v_voice_ai_webhook_deliveries (domain_uuid, voice_conversation_uuid)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS v_voice_ai_webhook_deliveries")
