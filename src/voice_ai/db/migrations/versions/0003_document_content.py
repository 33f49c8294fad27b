"""Keep each uploaded document's bytes, so any instance or worker can (re)index it, after a restart too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE v_voice_documents ADD COLUMN content bytea")
    op.execute("ALTER TABLE v_voice_documents ADD COLUMN language text")


def downgrade() -> None:
    op.execute("ALTER TABLE v_voice_documents DROP COLUMN IF EXISTS language")
    op.execute("ALTER TABLE v_voice_documents DROP COLUMN IF EXISTS content")
