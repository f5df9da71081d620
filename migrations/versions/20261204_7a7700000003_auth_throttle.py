"""auth throttle: failure counters for password and TOTP attempts

Revision ID: 7a7700000003
Revises: 5e55101a0002
Create Date: 2026-12-04 10:00:00.000000

One row per counter (hrdnet/auth/throttle.py): its key is a keyed hash of what it counts (an account
pseudonym, or an account and a client address), so the table holds no e-mail address, pseudonym or IP
address. No existing table is altered.
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = '7a7700000003'
down_revision = '5e55101a0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('auth_throttle',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_auth_throttle'))
    )


def downgrade():
    op.drop_table('auth_throttle')
