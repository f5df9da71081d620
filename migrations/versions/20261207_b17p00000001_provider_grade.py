"""the provider's accreditation grade from the feed (HRD-Net grade)

Revision ID: b17p00000001
Revises: b17a00000002
Create Date: 2026-12-07 19:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b17p00000001'
down_revision = 'b17a00000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('providers') as batch_op:
        batch_op.add_column(sa.Column('grade', sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('providers') as batch_op:
        batch_op.drop_column('grade')
