"""Bookings carry the key of the request that made them (one booking per citizen turn)

A turn the gateway sends again after a Rasa replica died (bot.gateway.Gateway.send) keeps
its turn id; the booking form keys the booking by conversation and turn, so the second
run of that turn finds the first booking instead of taking a second slot.

Revision ID: 0013_booking_request_key
Revises: 0012_wechat
Create Date: 2026-12-01 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_booking_request_key"
down_revision = "0012_wechat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
    op.create_index("ux_bookings_request_key", "bookings", ["request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_bookings_request_key", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("request_key")
