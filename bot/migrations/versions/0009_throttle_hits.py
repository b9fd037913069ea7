"""Attempt counters per key and time window (bot.throttle)

Revision ID: 0009_throttle_hits
Revises: 0008_reveal_log
Create Date: 2026-12-01 09:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_throttle_hits"
down_revision = "0008_reveal_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_hits",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    op.create_index("ix_throttle_hits_window_start", "throttle_hits", ["window_start"])


def downgrade() -> None:
    op.drop_table("throttle_hits")
