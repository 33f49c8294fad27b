"""Per-provider request counters for tenant rate limits, shared by every service instance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE v_voice_ai_rate_counters (
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            voice_ai_provider_uuid uuid NOT NULL,
            window_start timestamptz NOT NULL,
            calls integer NOT NULL DEFAULT 0,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_voice_ai_rate_counters PRIMARY KEY (domain_uuid, voice_ai_provider_uuid, window_start),
            CONSTRAINT fk_voice_ai_rate_counters_provider FOREIGN KEY (domain_uuid, voice_ai_provider_uuid)
                REFERENCES v_voice_ai_providers (domain_uuid, voice_ai_provider_uuid) ON DELETE CASCADE
        )"""
    )
    op.execute(
        "CREATE INDEX ix_voice_ai_rate_counters_domain_window ON v_voice_ai_rate_counters (domain_uuid, window_start)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS v_voice_ai_rate_counters")
