"""catalogue tables

Revision ID: 0001_catalogue
Revises:
Create Date: 2026-11-22 12:54:31.832076
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_catalogue'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('catalog_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('out_of_scope_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('hotline', sa.String(length=32), nullable=True),
    sa.Column('hint', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('regions',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('short_name', sa.String(length=50), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=True),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('hotline', sa.String(length=32), nullable=True),
    sa.Column('ambiguous_short_name', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regions_parent_code'), ['parent_code'], unique=False)

    op.create_table('services',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('domain', sa.String(length=32), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('office_kinds', sa.JSON(), nullable=False),
    sa.Column('needs_region', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('last_checked', sa.Date(), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_domain'), ['domain'], unique=False)

    op.create_table('offices',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('hours', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('booking', sa.Text(), nullable=True),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offices_region_code'), ['region_code'], unique=False)

    op.create_table('service_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=64), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('last_checked', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], ),
    sa.ForeignKeyConstraint(['service_code'], ['services.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_code', 'region_code')
    )
    with op.batch_alter_table('service_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_overrides_region_code'), ['region_code'], unique=False)

    op.create_table('amounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('override_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('max_age', sa.Integer(), nullable=True),
    sa.Column('monthly', sa.Float(), nullable=True),
    sa.Column('amount_text', sa.String(length=200), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['override_id'], ['service_overrides.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('amounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_amounts_override_id'), ['override_id'], unique=False)

    op.create_table('office_services',
    sa.Column('office_code', sa.String(length=64), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['office_code'], ['offices.code'], ),
    sa.ForeignKeyConstraint(['service_code'], ['services.code'], ),
    sa.PrimaryKeyConstraint('office_code', 'service_code')
    )



def downgrade() -> None:

    op.drop_table('office_services')
    with op.batch_alter_table('amounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_amounts_override_id'))

    op.drop_table('amounts')
    with op.batch_alter_table('service_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_overrides_region_code'))

    op.drop_table('service_overrides')
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offices_region_code'))

    op.drop_table('offices')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_domain'))

    op.drop_table('services')
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regions_parent_code'))

    op.drop_table('regions')
    op.drop_table('out_of_scope_topics')
    op.drop_table('catalog_meta')

