"""favourites, the learner's reminders and which kinds they turned off

Revision ID: b17a00000001
Revises: a16000000001
Create Date: 2026-12-07 18:00:00.000000

- `favourites`: a learner's 관심 과정 (one row per user and run).
- `notifications`: reminders made by the worker, one per (user, key) so a rerun makes nothing twice.
- `reminder_settings`: a kind of reminder a learner turned off (no row: on).
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'b17a00000001'
down_revision = "a16000000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('favourites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_favourites_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_favourites_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_favourites')),
    sa.UniqueConstraint('user_id', 'run_id', name='uq_favourites_user_run')
    )
    op.create_index(op.f('ix_favourites_run_id'), 'favourites', ['run_id'], unique=False)
    op.create_index(op.f('ix_favourites_user_id'), 'favourites', ['user_id'], unique=False)
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('read_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'key', name='uq_notifications_user_key')
    )
    op.create_index(op.f('ix_notifications_user_id'), 'notifications', ['user_id'], unique=False)
    op.create_table('reminder_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminder_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_reminder_settings'))
    )


def downgrade():
    op.drop_table('reminder_settings')
    op.drop_index(op.f('ix_notifications_user_id'), table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_favourites_user_id'), table_name='favourites')
    op.drop_index(op.f('ix_favourites_run_id'), table_name='favourites')
    op.drop_table('favourites')
