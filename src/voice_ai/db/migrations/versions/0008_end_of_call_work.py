"""Whether a call's end-of-call work (the summary, the webhook) was done, so that the every-minute job can queue the
ends whose job was never queued; and the indexes of the system's sweeps (stale calls, unfinished ends, overdue
webhooks), which look across tenants.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE v_voice_conversations ADD COLUMN finished_at timestamptz")
    # Ends from before are done — except the last minutes' that have no webhook delivery yet: their job may still be
    # waiting its grace period, and it must still do their work (at worst, one that already ran summarises again).
    op.execute(
        "UPDATE v_voice_conversations c SET finished_at = ended_at WHERE ended_at IS NOT NULL AND ("
        "ended_at < now() - interval '10 minutes' OR EXISTS (SELECT 1 FROM v_voice_ai_webhook_deliveries w"
        " WHERE w.domain_uuid = c.domain_uuid AND w.voice_conversation_uuid = c.voice_conversation_uuid))"
    )
    op.execute(
        "CREATE INDEX ix_voice_conversations_unfinished ON v_voice_conversations (ended_at) "
        "WHERE ended_at IS NOT NULL AND finished_at IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_voice_ai_webhook_deliveries_pending ON v_voice_ai_webhook_deliveries (update_date) "
        "WHERE status = 'pending'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_voice_ai_webhook_deliveries_pending")
    op.execute("DROP INDEX IF EXISTS ix_voice_conversations_unfinished")
    op.execute("ALTER TABLE v_voice_conversations DROP COLUMN IF EXISTS finished_at")
