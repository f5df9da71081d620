"""saved searches with alerts (a learner's saved search of /courses and its alerts' watermark)

Revision ID: b17s00000001
Revises: b17p00000001
Create Date: 2026-12-07 19:45:00.000000
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'b17s00000001'
down_revision = 'b17p00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('query', sa.String(length=1000), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('checked_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches'))
    )
    op.create_index(op.f('ix_saved_searches_user_id'), 'saved_searches', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_saved_searches_user_id'), table_name='saved_searches')
    op.drop_table('saved_searches')
