"""Guides the web chat sent to a conversation: the only ones it may rate (bot.review.SentGuide)

Revision ID: 0011_sent_guides
Revises: 0010_staff_roles
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_sent_guides"
down_revision = "0010_staff_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sent_guides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("question", sa.String(length=1000), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_hash", "service", name="uq_sent_guides_sender_service"),
    )
    op.create_index("ix_sent_guides_at", "sent_guides", ["at"])


def downgrade() -> None:
    op.drop_table("sent_guides")
