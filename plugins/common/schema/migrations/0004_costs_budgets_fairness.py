"""batch cost estimates and actuals, admission time, budget holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:07:29.634309
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "budget_holds",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("need", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_budget_holds")),
    )
    with op.batch_alter_table("ai_batch_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "estimated_output_tokens",
                sa.BigInteger(),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("estimated_cost_usd", sa.Float(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("actual_input_tokens", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("actual_output_tokens", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("actual_cost_usd", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_ai_batch_requests_admitted_at"), ["admitted_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("ai_batch_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ai_batch_requests_admitted_at"))
        batch_op.drop_column("admitted_at")
        batch_op.drop_column("actual_cost_usd")
        batch_op.drop_column("actual_output_tokens")
        batch_op.drop_column("actual_input_tokens")
        batch_op.drop_column("estimated_cost_usd")
        batch_op.drop_column("estimated_output_tokens")

    op.drop_table("budget_holds")
