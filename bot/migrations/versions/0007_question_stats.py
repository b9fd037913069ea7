"""Overview: one row per answered question (kind and service only)

Revision ID: 0007_question_stats
Revises: 0006_review
Create Date: 2026-11-25 05:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_question_stats"
down_revision = "0006_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_question_stats_at", "question_stats", ["at"])


def downgrade() -> None:
    op.drop_table("question_stats")
