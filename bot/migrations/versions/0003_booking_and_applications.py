"""Appointment slots and bookings; applications and their status history; lookup throttling

Revision ID: 0003_booking
Revises: 0002_entry_points
Create Date: 2026-11-25 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_booking"
down_revision = "0002_entry_points"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_code", "kind", "day", "start_time", name="uq_booking_slots_time"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_booking_slots_capacity"),
    )
    op.create_index("ix_booking_slots_office_code", "booking_slots", ["office_code"])
    op.create_table(
        "bookings",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["slot_id"], ["booking_slots.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_bookings_slot_id", "bookings", ["slot_id"])
    op.create_table(
        "applications",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("applicant_name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["number"], ["applications.number"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_application_events_number", "application_events", ["number"])
    op.create_table(
        "lookup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lookup_failures_conversation", "lookup_failures", ["conversation"])


def downgrade() -> None:
    op.drop_table("lookup_failures")
    op.drop_table("application_events")
    op.drop_table("applications")
    op.drop_table("bookings")
    op.drop_table("booking_slots")
