"""Messages callers leave with the secretary (issue 13): who (name, the number to call back), what (the message),
the call it was taken in, and where it stands (``taking`` while the secretary is still asking, ``new`` once the
caller confirmed it, ``read`` once someone in the tenant read it, ``cancelled`` when the caller gave up).

Not to be confused with ``v_voice_messages``: the turns of a conversation. A caller message belongs to its
conversation (deleting the conversation — a caller's erasure request — deletes it too). ``confirmed``: the caller
said yes to the read-back (a message whose caller hung up after saying it is kept, unconfirmed).

E-mail of a message: ``v_voice_secretaries.message_email`` (the addresses), and — standalone — the tenant's SMTP
server in ``v_voice_ai_email_settings`` (the password encrypted by the service; FusionPBX mode uses FusionPBX's own
e-mail settings). One message at most is
being taken per call at a time (a partial unique index).

Revision ID: 0012_caller_messages
Revises: 0011_opening_hours
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012_caller_messages"
down_revision: str | None = "0011_opening_hours"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE v_voice_caller_messages (
            voice_caller_message_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            voice_conversation_uuid uuid NOT NULL,
            status text NOT NULL DEFAULT 'taking',
            step text,
            retries integer NOT NULL DEFAULT 0,
            caller_name text,
            callback_number text,
            body text,
            confirmed boolean NOT NULL DEFAULT false,
            language text,
            taken_at timestamptz,
            read_at timestamptz,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_voice_caller_messages_status CHECK (status IN ('taking', 'new', 'read', 'cancelled')),
            CONSTRAINT ck_voice_caller_messages_step CHECK (step IN ('name', 'number', 'body', 'confirm')),
            CONSTRAINT fk_voice_caller_messages_conversation FOREIGN KEY (domain_uuid, voice_conversation_uuid)
                REFERENCES v_voice_conversations (domain_uuid, voice_conversation_uuid) ON DELETE CASCADE
        )"""
    )
    op.execute(
        "CREATE INDEX ix_voice_caller_messages_domain_conversation"
        " ON v_voice_caller_messages (domain_uuid, voice_conversation_uuid)"
    )
    op.execute(
        "CREATE INDEX ix_voice_caller_messages_domain_status ON v_voice_caller_messages (domain_uuid, status, taken_at)"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_voice_caller_messages_taking ON v_voice_caller_messages"
        " (domain_uuid, voice_conversation_uuid) WHERE status = 'taking'"
    )

    # who receives a secretary's messages by e-mail (comma-separated addresses; none: no e-mail)
    op.execute("ALTER TABLE v_voice_secretaries ADD COLUMN message_email text")
    # the tenant's SMTP server, standalone (FusionPBX mode reads FusionPBX's own e-mail settings instead)
    op.execute(
        """
        CREATE TABLE v_voice_ai_email_settings (
            voice_ai_email_settings_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            domain_uuid uuid NOT NULL REFERENCES v_domains(domain_uuid) ON DELETE CASCADE,
            smtp_host text NOT NULL,
            smtp_port integer NOT NULL DEFAULT 587,
            smtp_secure text NOT NULL DEFAULT 'tls',
            smtp_username text,
            smtp_password text,
            smtp_from text NOT NULL,
            smtp_from_name text,
            insert_date timestamptz NOT NULL DEFAULT now(),
            update_date timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_voice_ai_email_settings_secure CHECK (smtp_secure IN ('none', 'tls', 'ssl')),
            CONSTRAINT ck_voice_ai_email_settings_port CHECK (smtp_port BETWEEN 1 AND 65535),
            CONSTRAINT uq_voice_ai_email_settings_domain UNIQUE (domain_uuid)
        )"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS v_voice_ai_email_settings")
    op.execute("ALTER TABLE v_voice_secretaries DROP COLUMN IF EXISTS message_email")
    op.execute("DROP TABLE IF EXISTS v_voice_caller_messages")
