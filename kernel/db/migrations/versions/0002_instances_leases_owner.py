"""scheduler instances, task leases, batch owner

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 19:31:57.156325
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "scheduler_instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tasks", sa.JSON(), nullable=True),
        sa.Column("plugin_status", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_instances")),
    )
    op.create_table(
        "task_leases",
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task", name=op.f("pk_task_leases")),
    )
    with op.batch_alter_table("ai_batch_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("ai_batch_requests", schema=None) as batch_op:
        batch_op.drop_column("owner")

    op.drop_table("task_leases")
    op.drop_table("scheduler_instances")
