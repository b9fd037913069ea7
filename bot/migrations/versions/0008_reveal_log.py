"""Audit table: operators revealing unmasked personal data

Revision ID: 0008_reveal_log
Revises: 0007_question_stats
Create Date: 2026-11-25 05:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_reveal_log"
down_revision = "0007_question_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reveal_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reveal_log_staff_id", "reveal_log", ["staff_id"])


def downgrade() -> None:
    op.drop_table("reveal_log")
