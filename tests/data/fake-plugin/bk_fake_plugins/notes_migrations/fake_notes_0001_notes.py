"""fake notes: the fake-notes plugin's table, on its own branch

Revision ID: fake_notes_0001
Revises:
Create Date: 2026-12-10 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "fake_notes_0001"
down_revision = None
branch_labels = ("fake-notes",)
depends_on = "0008"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "fake_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_fake_notes_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fake_notes")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("fake_notes")
