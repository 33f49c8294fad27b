"""Transfers that come back (issue 13): per transfer rule, how long the department's phone rings before the caller
returns to the secretary (``ring_seconds``; null: the call flow's default of 30 s), and whether the person who
answers first hears who is calling and why and accepts with a key (``announce``). Checked in the database as well
as by the API, so a hand-written row cannot hold a ring time no call flow honours.

Revision ID: 0014_transfer_return
Revises: 0013_tools
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_transfer_return"
down_revision: str | None = "0013_tools"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE v_voice_transfer_rules
            ADD COLUMN ring_seconds integer,
            ADD COLUMN announce boolean NOT NULL DEFAULT false,
            ADD CONSTRAINT ck_voice_transfer_rules_ring_seconds CHECK (ring_seconds BETWEEN 5 AND 120)
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE v_voice_transfer_rules
            DROP CONSTRAINT IF EXISTS ck_voice_transfer_rules_ring_seconds,
            DROP COLUMN IF EXISTS announce,
            DROP COLUMN IF EXISTS ring_seconds
        """
    )
