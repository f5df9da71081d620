"""identity links: a further login of an already linked person waits for an admin's review

Revision ID: 1d3e0a1b0001
Revises: 0eb3819c8446
Create Date: 2026-12-04 18:50:00.000000

Existing links stay active (server default); new columns record the review of a pending link.
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = '1d3e0a1b0001'
down_revision = '0eb3819c8446'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('decided_at', hrdnet.models_base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(op.f('ck_identity_links_status_known'),
                                         "status IN ('active', 'pending', 'rejected')")


def downgrade():
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_identity_links_status_known'), type_='check')
        batch_op.drop_column('reason')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('status')
