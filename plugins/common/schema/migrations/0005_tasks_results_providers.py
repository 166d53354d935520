"""task results as JSON, the provider of each request and batch

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("ai_processing_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result_json", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("provider", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_ai_processing_requests_processing_type_status_completed_at"),
            ["processing_type", "status", "completed_at"],
            unique=False,
        )
    with op.batch_alter_table("ai_batch_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=32), server_default="openai", nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("ai_batch_requests", schema=None) as batch_op:
        batch_op.drop_column("provider")
    with op.batch_alter_table("ai_processing_requests", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_ai_processing_requests_processing_type_status_completed_at")
        )
        batch_op.drop_column("provider")
        batch_op.drop_column("result_json")
