"""Indexing progress of a document (percent), shown by the API while it is processed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE v_voice_documents ADD COLUMN progress integer NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE v_voice_documents DROP COLUMN IF EXISTS progress")
