"""session transcript sizes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:39:15.078120
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transcript_chars", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("transcript_bytes", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_column("transcript_bytes")
        batch_op.drop_column("transcript_chars")
