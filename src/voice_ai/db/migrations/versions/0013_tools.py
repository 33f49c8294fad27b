"""A tenant's HTTP tools (issue 13, point 4): what the LLM may call during a call turn, and each reply's log of the
tool calls it made.

``v_voice_tools``: one row per tool (optionally limited to one secretary); ``headers`` values are stored encrypted
(every value: they are credentials more often than not). Bounds are checked in the database as well as by the API.
``v_voice_messages.tool_calls``: the reply's tool calls (name, arguments, outcome, status, time), null when none.

Revision ID: 0013_tools
Revises: 0012_caller_messages
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_tools"
down_revision: str | None = "0012_caller_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE v_voice_tools (
            voice_tool_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            voice_secretary_uuid uuid,
            name text NOT NULL,
            description text NOT NULL,
            parameters jsonb NOT NULL DEFAULT '{"type": "object", "properties": {}}'::jsonb,
            url text NOT NULL,
            method text NOT NULL DEFAULT 'GET',
            headers jsonb NOT NULL DEFAULT '{}'::jsonb,
            timeout_s double precision NOT NULL DEFAULT 3,
            max_response_bytes integer NOT NULL DEFAULT 16384,
            enabled boolean NOT NULL DEFAULT true,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_voice_tools_domain_name UNIQUE (domain_uuid, name),
            CONSTRAINT ck_voice_tools_method CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
            CONSTRAINT ck_voice_tools_timeout_s CHECK (timeout_s > 0 AND timeout_s <= 8),
            CONSTRAINT ck_voice_tools_max_response_bytes CHECK (max_response_bytes BETWEEN 256 AND 262144),
            CONSTRAINT fk_voice_tools_secretary FOREIGN KEY (domain_uuid, voice_secretary_uuid)
                REFERENCES v_voice_secretaries (domain_uuid, voice_secretary_uuid) ON DELETE CASCADE
        )"""
    )
    op.execute("ALTER TABLE v_voice_messages ADD COLUMN tool_calls jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE v_voice_messages DROP COLUMN IF EXISTS tool_calls")
    op.execute("DROP TABLE IF EXISTS v_voice_tools")
