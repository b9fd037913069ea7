"""Staff roles: operator (default) or supervisor (may reveal personal data in any handoff)

Revision ID: 0010_staff_roles
Revises: 0009_throttle_hits
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_staff_roles"
down_revision = "0009_throttle_hits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="operator"))


def downgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.drop_column("role")
