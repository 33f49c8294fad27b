"""Per-secretary streaming settings: how calls reach the secretary (``call_mode``: the turn-based Lua flow or the
streaming one), the silence that ends the caller's turn in streaming, and barge-in (on/off and the voice needed to
interrupt). Checked in the database as well as by the API, so a hand-written row cannot hold a value no call flow
understands.

Revision ID: 0009_secretary_streaming
Revises: 0008
Create Date: 2026-12-16
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_secretary_streaming"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE v_voice_secretaries
            ADD COLUMN call_mode text NOT NULL DEFAULT 'turn',
            ADD COLUMN end_of_turn_ms integer NOT NULL DEFAULT 600,
            ADD COLUMN barge_in boolean NOT NULL DEFAULT true,
            ADD COLUMN barge_in_min_ms integer NOT NULL DEFAULT 300,
            ADD CONSTRAINT ck_voice_secretaries_call_mode CHECK (call_mode IN ('turn', 'stream')),
            ADD CONSTRAINT ck_voice_secretaries_end_of_turn_ms CHECK (end_of_turn_ms BETWEEN 200 AND 3000),
            ADD CONSTRAINT ck_voice_secretaries_barge_in_min_ms CHECK (barge_in_min_ms BETWEEN 100 AND 2000)
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE v_voice_secretaries
            DROP CONSTRAINT IF EXISTS ck_voice_secretaries_barge_in_min_ms,
            DROP CONSTRAINT IF EXISTS ck_voice_secretaries_end_of_turn_ms,
            DROP CONSTRAINT IF EXISTS ck_voice_secretaries_call_mode,
            DROP COLUMN IF EXISTS barge_in_min_ms,
            DROP COLUMN IF EXISTS barge_in,
            DROP COLUMN IF EXISTS end_of_turn_ms,
            DROP COLUMN IF EXISTS call_mode
        """
    )
