"""Where a transferred call really went (the dialplan context next to the destination), and an index for the
stale-call closer (open conversations by last activity, across tenants: the closer is the system's, ordered by
``update_date``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE v_voice_conversations ADD COLUMN transfer_context text")
    op.execute(
        "CREATE INDEX ix_voice_conversations_open_activity ON v_voice_conversations (update_date) "
        "WHERE ended_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_voice_conversations_open_activity")
    op.execute("ALTER TABLE v_voice_conversations DROP COLUMN IF EXISTS transfer_context")
