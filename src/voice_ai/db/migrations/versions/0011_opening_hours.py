"""Opening hours (issue 13): schedules stored by this service (weekly hours, holidays, time zone), and a schedule on
a secretary and on each transfer rule — either one of ours (``voice_schedule_uuid``) or, in FusionPBX mode, one of
the domain's FusionPBX time conditions (``time_condition_uuid``: the ``dialplan_uuid`` of a Time Conditions
dialplan; no foreign key, FusionPBX's tables are not ours and may be absent). Deleting a schedule leaves the
secretaries and rules that used it without one (always open).

Revision ID: 0011_opening_hours
Revises: 0010_trigram
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_opening_hours"
down_revision: str | None = "0010_trigram"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES = (
    ("v_voice_secretaries", "fk_voice_secretaries_schedule"),
    ("v_voice_transfer_rules", "fk_voice_transfer_rules_schedule"),
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE v_voice_schedules (
            voice_schedule_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            name text NOT NULL,
            description text,
            time_zone text NOT NULL DEFAULT 'America/Sao_Paulo',
            hours jsonb NOT NULL DEFAULT '[]'::jsonb,
            holidays jsonb NOT NULL DEFAULT '[]'::jsonb,
            enabled boolean NOT NULL DEFAULT true,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_voice_schedules_domain UNIQUE (domain_uuid, voice_schedule_uuid)
        )"""
    )
    op.execute("CREATE INDEX ix_voice_schedules_domain_name ON v_voice_schedules (domain_uuid, name)")
    for table, constraint in REFERENCES:
        op.execute(
            f"""
            ALTER TABLE {table}
                ADD COLUMN voice_schedule_uuid uuid,
                ADD COLUMN time_condition_uuid uuid,
                ADD CONSTRAINT {constraint} FOREIGN KEY (domain_uuid, voice_schedule_uuid)
                    REFERENCES v_voice_schedules (domain_uuid, voice_schedule_uuid)
                    ON DELETE SET NULL (voice_schedule_uuid)"""
        )


def downgrade() -> None:
    for table, constraint in REFERENCES:
        op.execute(
            f"""
            ALTER TABLE {table}
                DROP CONSTRAINT IF EXISTS {constraint},
                DROP COLUMN IF EXISTS time_condition_uuid,
                DROP COLUMN IF EXISTS voice_schedule_uuid"""
        )
    op.execute("DROP TABLE IF EXISTS v_voice_schedules")
