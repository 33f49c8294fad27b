"""Synthesized audio served to FreeSWITCH (``GET /api/v1/audio/{id}.wav``), shared by every instance.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE v_voice_ai_audio (
            voice_ai_audio_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            cache_key text,
            wav bytea NOT NULL,
            duration_ms integer NOT NULL DEFAULT 0,
            expires_at timestamptz,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now()
        )"""
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_voice_ai_audio_cache ON v_voice_ai_audio (domain_uuid, cache_key) WHERE cache_key IS NOT NULL"
    )
    op.execute("CREATE INDEX ix_voice_ai_audio_domain_expires ON v_voice_ai_audio (domain_uuid, expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS v_voice_ai_audio")
