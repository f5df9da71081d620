"""provider_notices.key: a notice sent once (e.g. the reminder before a unit period ends)

Revision ID: f15a00000004
Revises: f15a00000003
Create Date: 2026-12-07 18:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'f15a00000004'
down_revision = 'f15a00000003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('provider_notices') as batch:
        batch.add_column(sa.Column('key', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f('uq_provider_notices_key'), ['key'])


def downgrade():
    with op.batch_alter_table('provider_notices') as batch:
        batch.drop_constraint(op.f('uq_provider_notices_key'), type_='unique')
        batch.drop_column('key')
