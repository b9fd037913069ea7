"""WeChat channel: retries answered once, the shared access token, customer-service windows (bot.wechat.store)

Revision ID: 0012_wechat
Revises: 0011_sent_guides
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_wechat"
down_revision = "0011_sent_guides"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_seen",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_wechat_seen_at", "wechat_seen", ["at"])
    op.create_table(
        "wechat_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "wechat_windows",
        sa.Column("openid", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("openid"),
    )


def downgrade() -> None:
    op.drop_table("wechat_windows")
    op.drop_table("wechat_tokens")
    op.drop_index("ix_wechat_seen_at", table_name="wechat_seen")
    op.drop_table("wechat_seen")
